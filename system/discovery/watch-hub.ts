import type { BrokerRecord, DirectoryChange } from './broker-directory.ts';
import type { WatchEvent } from './watch-frames.ts';
import { createWatchView, type WatchSelection, type WatchView } from './watch-view.ts';

export interface WatchHubOptions {
  /** The live brokers now, for the snapshot of a new watch. */
  list: () => BrokerRecord[];
  /** Told about every event pushed (metrics). */
  onPush?: (event: WatchEvent) => void;
  /** Told when a sink throws; the fan-out goes on to the other watches. */
  onSinkError?: (error: unknown) => void;
}

export interface WatchSubscription {
  /** The first event of the watch, to be sent before anything else. */
  readonly snapshot: WatchEvent;
  unsubscribe(): void;
}

/**
 * The watch fan-out: every directory change goes, synchronously and at once, to every watch
 * that can see it. [design] No queue and no polling between a change and the sockets: the
 * 200 ms bound on learning of a change is spent in the network, not here.
 */
export interface WatchHub {
  subscribe(
    id: string,
    selection: WatchSelection,
    send: (event: WatchEvent) => void,
  ): WatchSubscription;
  publish(change: DirectoryChange): void;
  readonly size: number;
}

interface Subscription {
  view: WatchView;
  send: (event: WatchEvent) => void;
}

export function createWatchHub(options: WatchHubOptions): WatchHub {
  const subscriptions = new Set<Subscription>();
  const deliver = (subscription: Subscription, event: WatchEvent) => {
    try {
      subscription.send(event);
      options.onPush?.(event);
    } catch (error) {
      options.onSinkError?.(error);
    }
  };

  return {
    subscribe(id, selection, send) {
      const subscription = { view: createWatchView(id, selection, options.list()), send };
      subscriptions.add(subscription);
      return {
        snapshot: subscription.view.snapshot(),
        unsubscribe: () => {
          subscriptions.delete(subscription);
        },
      };
    },
    publish(change) {
      for (const subscription of subscriptions) {
        for (const event of subscription.view.apply(change)) deliver(subscription, event);
      }
    },
    get size() {
      return subscriptions.size;
    },
  };
}
