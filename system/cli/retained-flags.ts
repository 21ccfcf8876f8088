import { type Command, Option } from 'commander';
import { type BrokerServiceOptions, brokerServiceDefaults } from '../broker/index.ts';
import { parseDuration, parsePositiveInt } from './parsers.ts';

/** The flags of retained messages federation-wide (versions, tombstones, fetches from peers). */
export interface RetainedFlags {
  retainedTombstoneTtl: number;
  maxRetainedTombstones: number;
  retainedFetchDeadline: number;
  retainedFetchMaxMessages: number;
  retainedFetchMaxBytes: number;
  retainedFetchMaxAnswerBytes: number;
  retainedMaxClockSkew: number;
}

const d = brokerServiceDefaults;

/** Adds the retained-message flags to `mqfed broker`. */
export function addRetainedOptions(command: Command): Command {
  const flag = (
    name: string,
    env: string,
    help: string,
    value: number,
    parse: (text: string) => number = parsePositiveInt,
  ) => command.addOption(new Option(name, help).env(env).argParser(parse).default(value));
  flag(
    '--retained-tombstone-ttl <duration>',
    'MQFED_RETAINED_TOMBSTONE_TTL',
    'how long a deleted retained message is remembered, so an older copy cannot come back',
    d.retainedTombstoneMs,
    parseDuration,
  );
  flag(
    '--max-retained-tombstones <n>',
    'MQFED_MAX_RETAINED_TOMBSTONES',
    'deleted retained messages remembered at most',
    d.maxRetainedTombstones,
  );
  flag(
    '--retained-fetch-deadline <duration>',
    'MQFED_RETAINED_FETCH_DEADLINE',
    "how long a new subscription waits for peers' retained messages",
    d.retainedFetchDeadlineMs,
    parseDuration,
  );
  flag(
    '--retained-fetch-max-messages <n>',
    'MQFED_RETAINED_FETCH_MAX_MESSAGES',
    "retained messages one answer to a peer's fetch holds at most",
    d.retainedFetchMaxMessages,
  );
  flag(
    '--retained-fetch-max-bytes <bytes>',
    'MQFED_RETAINED_FETCH_MAX_BYTES',
    'their bytes (topics and payloads)',
    d.retainedFetchMaxBytes,
  );
  flag(
    '--retained-fetch-max-answer-bytes <bytes>',
    'MQFED_RETAINED_FETCH_MAX_ANSWER_BYTES',
    "a peer's answer longer than this is refused while read",
    d.retainedFetchMaxResponseBytes,
  );
  flag(
    '--retained-max-clock-skew <duration>',
    'MQFED_RETAINED_MAX_CLOCK_SKEW',
    "a peer's retained version further ahead of this clock is not stored",
    d.retainedMaxClockSkewMs,
    parseDuration,
  );
  return command;
}

/** The broker options of those flags. */
export function retainedOptionsOf(
  flags: RetainedFlags,
): Pick<
  BrokerServiceOptions,
  | 'retainedTombstoneMs'
  | 'maxRetainedTombstones'
  | 'retainedFetchDeadlineMs'
  | 'retainedFetchMaxMessages'
  | 'retainedFetchMaxBytes'
  | 'retainedFetchMaxResponseBytes'
  | 'retainedMaxClockSkewMs'
> {
  return {
    retainedTombstoneMs: flags.retainedTombstoneTtl,
    maxRetainedTombstones: flags.maxRetainedTombstones,
    retainedFetchDeadlineMs: flags.retainedFetchDeadline,
    retainedFetchMaxMessages: flags.retainedFetchMaxMessages,
    retainedFetchMaxBytes: flags.retainedFetchMaxBytes,
    retainedFetchMaxResponseBytes: flags.retainedFetchMaxAnswerBytes,
    retainedMaxClockSkewMs: flags.retainedMaxClockSkew,
  };
}
