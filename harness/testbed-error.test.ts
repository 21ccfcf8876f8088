import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../system/protocol/index.ts';
import { isTestbedErrorCode, TestbedError, testbedErrorCatalogue } from './testbed-error.ts';

describe('the testbed error codes', () => {
  it('are none of the wire protocol’s codes', () => {
    for (const code of Object.keys(testbedErrorCatalogue)) {
      expect(Object.hasOwn(errorCatalogue, code), code).toBe(false);
    }
  });

  it('carry a stable code and default to its summary', () => {
    const error = new TestbedError('SERVICE_NOT_RUNNING');
    expect(error.code).toBe('SERVICE_NOT_RUNNING');
    expect(error.message).toBe(testbedErrorCatalogue.SERVICE_NOT_RUNNING);
    expect(isTestbedErrorCode('CLIENT_HOST_FAILED')).toBe(true);
    expect(isTestbedErrorCode('INVALID_REQUEST')).toBe(false);
    expect(isTestbedErrorCode('toString')).toBe(false);
  });

  it('are documented, code by code, in docs/results.md, with the image build’s', () => {
    const doc = readFileSync(new URL('../docs/results.md', import.meta.url), 'utf8');
    for (const code of [...Object.keys(testbedErrorCatalogue), 'IMAGE_BUILD_FAILED']) {
      expect(doc, `docs/results.md has no row for ${code}`).toMatch(
        new RegExp(`^\\| \`${code}\` \\|`, 'm'),
      );
    }
  });
});
