import { Counter, Gauge, type Registry } from 'prom-client';

/** How one retained fetch from one peer ended. A fixed set: a peer never mints a label. */
export type RetainedFetchResult =
  | 'ok'
  | 'truncated'
  | 'timeout'
  | 'unreachable'
  | 'refused'
  | 'invalid_answer'
  | 'error';

/**
 * Why a retained message (or delete) from a peer, over a link or fetched, was not stored.
 * `older`: a newer version is held (normal; the message is still delivered live). `future`: its
 * version is too far ahead of this broker's clock. `bounds`: the broker-wide retained bounds.
 * `scope`: a fetched topic outside what was asked or what this broker may consume.
 */
export type RetainedDropReason = 'older' | 'future' | 'bounds' | 'scope';

export interface RetainedMetrics {
  readonly fetches: Counter<'result'>;
  /** Retained fetches this broker answered for peers. */
  readonly served: Counter<'result'>;
  readonly dropped: Counter<'reason'>;
  /** Winners of fetches stored here (messages and deletes). */
  readonly fetchedStored: Counter;
}

export function createRetainedMetrics(
  registry: Registry,
  tombstones: () => number,
): RetainedMetrics {
  new Gauge({
    name: 'mqfed_broker_retained_tombstones',
    help: 'Deleted retained messages whose version is remembered',
    registers: [registry],
    collect() {
      this.set(tombstones());
    },
  });
  return {
    fetches: new Counter({
      name: 'mqfed_broker_retained_fetches_total',
      help: 'Retained fetches from peers for new subscriptions, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    served: new Counter({
      name: 'mqfed_broker_retained_fetches_served_total',
      help: 'Retained fetches answered for peers, by result (ok, truncated, busy)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'mqfed_broker_retained_dropped_total',
      help: 'Retained messages from peers not stored, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    fetchedStored: new Counter({
      name: 'mqfed_broker_retained_fetched_stored_total',
      help: 'Retained messages and deletes fetched from peers that won and were stored',
      registers: [registry],
    }),
  };
}
