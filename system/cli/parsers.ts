import { InvalidArgumentError } from 'commander';
import { type LogLevel, logLevels } from '../common/index.ts';

/**
 * Value parsers for flags and environment variables. A bad value throws commander's
 * InvalidArgumentError, which names the flag in a one-line message and exits with code 2.
 */

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('expected a TCP port from 0 to 65535.');
  }
  return port;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `500ms`, `15s`, `10m`, `1h`, or a bare number of milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (match === null)
    throw new InvalidArgumentError('expected a duration such as 500ms, 15s, 10m.');
  const ms = Number(match[1]) * (durationUnits[match[2] ?? 'ms'] ?? 1);
  if (ms <= 0) throw new InvalidArgumentError('expected a duration greater than zero.');
  return Math.round(ms);
}

export function parseHttpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an absolute http(s) URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('expected an http or https URL.');
  }
  return value.replace(/\/+$/, '');
}

export function parseLogLevel(value: string): LogLevel {
  const level = logLevels.find((candidate) => candidate === value);
  if (level === undefined) {
    throw new InvalidArgumentError(`expected one of ${logLevels.join(', ')}.`);
  }
  return level;
}

/** A comma-separated list, e.g. MQTT topic filters: `sensors/#,alerts/+`. */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * `ID=URL` pairs, comma-separated, for a flag that may repeat: `--peer-route b2=ws://h:9002/peer`.
 * Each occurrence adds to what earlier ones gave.
 */
export function parsePeerRoutes(
  value: string,
  previous: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const routes = { ...previous };
  for (const pair of parseList(value)) {
    const match = /^([^=\s]+)=(wss?:\/\/\S+)$/.exec(pair);
    if (match === null) {
      throw new InvalidArgumentError(`expected ID=ws://host:port/path, got "${pair}".`);
    }
    routes[match[1]!] = match[2]!;
  }
  return routes;
}
