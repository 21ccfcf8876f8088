import type { DeliveryAccount } from './results-schema.ts';

/**
 * Delivery rows of the same QoS summed: a variant's over its repetitions. Undefined when a part
 * has none (a repetition whose publishers could not say what they sent): a partial sum would
 * read as the whole.
 */
export function mergeDeliveryAccounts(
  parts: readonly (readonly DeliveryAccount[] | undefined)[],
): DeliveryAccount[] | undefined {
  if (parts.some((part) => part === undefined)) return undefined;
  const merged = new Map<0 | 1, DeliveryAccount>();
  for (const part of parts as readonly DeliveryAccount[][]) {
    for (const row of part) {
      const into = merged.get(row.qos);
      if (into === undefined) {
        merged.set(row.qos, { ...row });
        continue;
      }
      into.sent += row.sent;
      into.acknowledged =
        into.acknowledged === null || row.acknowledged === null
          ? null
          : into.acknowledged + row.acknowledged;
      into.expected += row.expected;
      into.delivered += row.delivered;
      into.lost += row.lost;
      into.duplicated += row.duplicated;
      into.deliveredUnacknowledged += row.deliveredUnacknowledged;
    }
  }
  return [...merged.values()].sort((a, b) => a.qos - b.qos);
}
