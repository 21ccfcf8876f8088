import { MqfedError } from '../protocol/index.ts';

/**
 * Counts the watches of each token subject over all its sockets, so that one identity cannot
 * hold more than its share by opening sockets. [design] Entries leave the table when their count
 * falls to zero, so its size is bounded by the number of watches, which this quota bounds.
 */
export interface WatchQuota {
  /** Takes one watch for `subject`, or WATCH_LIMIT_EXCEEDED when it holds the most already. */
  take(subject: string): void;
  /** Gives one back. */
  give(subject: string): void;
  /** Subjects holding at least one watch. */
  readonly subjects: number;
}

export function createWatchQuota(maxPerSubject: number): WatchQuota {
  const held = new Map<string, number>();
  return {
    take(subject) {
      const count = held.get(subject) ?? 0;
      if (count >= maxPerSubject) {
        throw new MqfedError(
          'WATCH_LIMIT_EXCEEDED',
          `${subject} holds ${count} watches, the most one token subject may hold`,
        );
      }
      held.set(subject, count + 1);
    },
    give(subject) {
      const count = held.get(subject) ?? 0;
      if (count <= 1) held.delete(subject);
      else held.set(subject, count - 1);
    },
    get subjects() {
      return held.size;
    },
  };
}
