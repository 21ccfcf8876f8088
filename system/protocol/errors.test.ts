import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalogue, isErrorCode, MqfedError, toMqfedError } from './errors.ts';

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
