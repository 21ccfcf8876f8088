import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { brokerServiceDefaults } from '../broker/index.ts';
import { addRetainedOptions, type RetainedFlags, retainedOptionsOf } from './retained-flags.ts';

function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const command = addRetainedOptions(new Command('broker'))
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    command.parse(argv, { from: 'user' });
    return retainedOptionsOf(command.opts<RetainedFlags>());
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

describe('the retained-message flags of mqfed broker', () => {
  it('default to the broker service defaults', () => {
    const d = brokerServiceDefaults;
    expect(parse([])).toEqual({
      retainedTombstoneMs: d.retainedTombstoneMs,
      maxRetainedTombstones: d.maxRetainedTombstones,
      retainedFetchDeadlineMs: d.retainedFetchDeadlineMs,
      retainedFetchMaxMessages: d.retainedFetchMaxMessages,
      retainedFetchMaxBytes: d.retainedFetchMaxBytes,
      retainedFetchMaxResponseBytes: d.retainedFetchMaxResponseBytes,
      retainedMaxClockSkewMs: d.retainedMaxClockSkewMs,
    });
    expect(d.retainedTombstoneMs).toBe(3_600_000);
    expect(d.retainedFetchDeadlineMs).toBe(1_000);
  });

  it('take durations and counts from flags and MQFED_* variables', () => {
    expect(
      parse(['--retained-tombstone-ttl', '30m', '--retained-fetch-deadline', '250ms'], {
        MQFED_RETAINED_FETCH_MAX_MESSAGES: '10',
        MQFED_RETAINED_MAX_CLOCK_SKEW: '1m',
      }),
    ).toMatchObject({
      retainedTombstoneMs: 1_800_000,
      retainedFetchDeadlineMs: 250,
      retainedFetchMaxMessages: 10,
      retainedMaxClockSkewMs: 60_000,
    });
  });

  it('refuse a count that is not a positive integer', () => {
    expect(() => parse(['--max-retained-tombstones', '0'])).toThrow();
    expect(() => parse(['--retained-fetch-max-bytes', 'lots'])).toThrow();
  });
});
