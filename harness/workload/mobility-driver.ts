import type { MobileClientInfo, MobilityModel } from '../mobility-model.ts';
import { nowMs } from './payload.ts';
import type { SimulatedSubscriber } from './simulated-subscriber.ts';

export interface MobileClient {
  subscriber: SimulatedSubscriber;
  /** Index and count within its group, for the model's stagger. */
  index: number;
  count: number;
  brokers: readonly string[];
  model: MobilityModel;
  random: () => number;
  tickMs: number;
}

/**
 * Asks each mobile client's model, every tick, where the client should be, and moves it when the
 * answer differs from where it is. Time given to the model is ms since the schedule began, so a
 * trace's times line up with the publish schedule. A failed reconnect is kept, not thrown: the
 * client then counts as lost messages, and the failure is reported at the end.
 */
export class MobilityDriver {
  readonly #clients: readonly MobileClient[];
  readonly #startMs: number;
  readonly #urlOf: (broker: string, host?: string) => string;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly errors: Error[] = [];

  constructor(
    clients: readonly MobileClient[],
    startMs: number,
    /** The URL a client on `host` uses to reach `broker`. */
    urlOf: (broker: string, host?: string) => string,
  ) {
    this.#clients = clients;
    this.#startMs = startMs;
    this.#urlOf = urlOf;
  }

  start(): void {
    // One timer per tick interval, not per client: thousands of clients cost one timer each tick.
    const byTick = new Map<number, MobileClient[]>();
    for (const client of this.#clients) {
      byTick.set(client.tickMs, [...(byTick.get(client.tickMs) ?? []), client]);
    }
    for (const [tickMs, clients] of byTick) {
      this.#timers.push(setInterval(() => this.#tick(clients), tickMs));
    }
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  #tick(clients: readonly MobileClient[]): void {
    const now = nowMs() - this.#startMs;
    for (const client of clients) {
      const { subscriber } = client;
      if (subscriber.moving) continue;
      const info: MobileClientInfo = {
        id: subscriber.spec.id,
        index: client.index,
        count: client.count,
        broker: subscriber.broker,
        brokers: client.brokers,
      };
      const target = client.model(info, now, client.random) ?? subscriber.broker;
      if (target === subscriber.broker && subscriber.connected) continue;
      let url: string;
      try {
        url = this.#urlOf(target, subscriber.spec.host);
      } catch (error) {
        if (this.errors.length < 100) this.errors.push(error as Error);
        continue;
      }
      subscriber.moveTo(target, url)?.catch((error: unknown) => {
        // Kept few: a broker down for a while fails a reconnect every tick.
        if (this.errors.length < 100) this.errors.push(error as Error);
      });
    }
  }
}
