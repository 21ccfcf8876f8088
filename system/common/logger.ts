import { pino } from 'pino';

/** Structured JSON logs (one object per line), the same shape for every service. */
export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const logLevels: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** Logs go to stderr so that stdout stays free for what a command prints for people and scripts. */
export function createLogger(service: string, level: LogLevel = 'info'): Logger {
  return pino({ name: service, level, base: { service } }, pino.destination(2));
}
