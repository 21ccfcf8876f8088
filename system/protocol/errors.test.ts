import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ErrorCode,
  errorCatalogue,
  errorLimitOf,
  isErrorCode,
  LimitError,
  MqfedError,
  toMqfedError,
} from './errors.ts';

describe('the error catalogue', () => {
  it('maps every code to a 4xx/5xx status and a close code in the application or standard range', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(entry.http, code).toBeGreaterThanOrEqual(400);
      expect(entry.http, code).toBeLessThan(600);
      const standard = [1007, 1008, 1009, 1011, 1013].includes(entry.ws);
      expect(standard || (entry.ws >= 4000 && entry.ws <= 4999), code).toBe(true);
    }
  });

  it('keeps every failure caused by input out of the 5xx range', () => {
    const serverSide: ErrorCode[] = [
      'INTERNAL',
      'KEYS_UNAVAILABLE',
      'PEER_UNREACHABLE',
      'OUTBOX_FULL',
      'STORE_FAILED',
      'AUTH_UNAVAILABLE',
    ];
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      if (!serverSide.includes(code as ErrorCode)) expect(entry.http, code).toBeLessThan(500);
    }
  });

  it('turns anything thrown into an MqfedError with a stable code', () => {
    expect(toMqfedError(new Error('boom')).code).toBe('INTERNAL');
    const known = new MqfedError('SCOPE_DENIED');
    expect(toMqfedError(known)).toBe(known);
    expect(known.toBody()).toEqual({ code: 'SCOPE_DENIED', message: known.message });
    expect([known.httpStatus, known.wsCloseCode]).toEqual([403, 4403]);
    expect(isErrorCode('SCOPE_DENIED')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('is documented, code by code, in docs/protocol.md with its status and close code', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      const row = new RegExp(`^\\| \`${code}\` \\| ${entry.http} \\| ${entry.ws} \\|`, 'm');
      expect(doc, `docs/protocol.md has no row for ${code}`).toMatch(row);
    }
  });
});

describe('a refusal for a size limit', () => {
  it('carries the limit in its body beside the code and the message', () => {
    const error = new LimitError('TOPIC_LIMIT_EXCEEDED', '9 would exceed 8', {
      name: 'topics',
      max: 8,
    });
    expect(error).toBeInstanceOf(MqfedError);
    expect(error.toBody()).toEqual({
      code: 'TOPIC_LIMIT_EXCEEDED',
      message: '9 would exceed 8',
      limit: { name: 'topics', max: 8 },
    });
    expect(errorLimitOf(error.toBody())).toEqual({ name: 'topics', max: 8 });
  });

  it.each([
    ['no body', undefined],
    ['no limit', { code: 'TOPIC_LIMIT_EXCEEDED' }],
    ['a limit that is a number', { limit: 8 }],
    ['a name that is no name', { limit: { name: 'topics\n{"x"', max: 8 } }],
    ['a name too long for a log field', { limit: { name: 'a'.repeat(40), max: 8 } }],
    ['a max of zero', { limit: { name: 'topics', max: 0 } }],
    ['a fractional max', { limit: { name: 'topics', max: 1.5 } }],
    ['a max past the safe integers', { limit: { name: 'topics', max: 2 ** 60 } }],
    ['a max that is a string', { limit: { name: 'topics', max: '8' } }],
  ])('reads %s from another service as no limit at all', (_name, body) => {
    expect(errorLimitOf(body)).toBeUndefined();
  });
});
