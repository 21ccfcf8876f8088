/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time between 0 and
 * min(max, base * 2^n). Full jitter spreads the reconnects of many brokers that lost the same
 * peer at the same moment, so they do not return in one wave. [design]
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
