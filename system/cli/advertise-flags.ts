import { type Command, InvalidArgumentError, Option } from 'commander';
import { type BrokerServiceOptions, brokerServiceDefaults } from '../broker/index.ts';
import { isValidTopicFilter } from '../protocol/index.ts';
import { parseList, parsePositiveInt } from './parsers.ts';

/** The flags of what a broker advertises to discovery beyond what its clients do. */
export interface AdvertiseFlags {
  declare: string[];
  maxAdvertisedFilters: number;
}

/**
 * `--declare`: comma-separated MQTT topic filters; a repeated flag adds to the earlier ones.
 * A value that is no topic filter is refused naming it (commander names the flag).
 */
export function parseDeclaredFilters(value: string, previous: readonly string[] = []): string[] {
  const filters = parseList(value);
  const bad = filters.find((filter) => !isValidTopicFilter(filter));
  if (bad !== undefined) throw new InvalidArgumentError(`not an MQTT topic filter: ${bad}.`);
  return [...new Set([...previous, ...filters])];
}

/** Adds the advertisement flags to `mqfed broker` and `mqfed up`. */
export function addAdvertiseOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--declare <filters>',
        'topic filters advertised before anyone publishes (comma-separated, repeatable)',
      )
        .env('MQFED_DECLARE')
        .argParser(parseDeclaredFilters)
        .default([]),
    )
    .addOption(
      new Option(
        '--max-advertised-filters <n>',
        'interest filters advertised to discovery; more are folded into broader ones that ' +
          "cover them. Above discovery's --max-topics-per-broker, it folds to that once refused",
      )
        .env('MQFED_MAX_ADVERTISED_FILTERS')
        .argParser(parsePositiveInt)
        .default(brokerServiceDefaults.maxAdvertisedInterest),
    );
}

/** The broker options of those flags. */
export function advertiseOptionsOf(
  flags: AdvertiseFlags,
): Pick<BrokerServiceOptions, 'declaredTopics' | 'maxAdvertisedInterest'> {
  return { declaredTopics: flags.declare, maxAdvertisedInterest: flags.maxAdvertisedFilters };
}
