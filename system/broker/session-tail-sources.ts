/**
 * Which brokers may push a tail (`/sessions/tail`) for which client id here, until when.
 * [design] A tail puts messages into a client's session, on any topic the session subscribes,
 * whatever the sender's publish scope: so it is taken only from a broker this one took the
 * session from (and from those that were still relaying to that broker), for as long as a
 * relay with its retries can last; and from the holder of a take that failed, for longer, since
 * that holder sends the whole queue when it is back. Bounded: the oldest client ids go first.
 */
export class TailSources {
  readonly #entries = new Map<string, Map<string, number>>();
  readonly #maxClients: number;
  readonly #now: () => number;

  constructor(maxClients: number, now: () => number = () => performance.now()) {
    this.#maxClients = maxClients;
    this.#now = now;
  }

  allow(clientId: string, brokers: readonly string[], forMs: number): void {
    const until = this.#now() + forMs;
    const sources = this.#live(clientId) ?? new Map<string, number>();
    for (const broker of brokers) sources.set(broker, Math.max(until, sources.get(broker) ?? 0));
    this.#entries.delete(clientId);
    this.#entries.set(clientId, sources);
    if (this.#entries.size > this.#maxClients) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  may(clientId: string, broker: string): boolean {
    return this.#live(clientId)?.has(broker) ?? false;
  }

  /** The brokers that may still push for `clientId`, for a taker to allow in turn. */
  of(clientId: string): string[] {
    return [...(this.#live(clientId)?.keys() ?? [])];
  }

  #live(clientId: string): Map<string, number> | undefined {
    const sources = this.#entries.get(clientId);
    if (sources === undefined) return undefined;
    const now = this.#now();
    for (const [broker, until] of sources) if (until < now) sources.delete(broker);
    if (sources.size > 0) return sources;
    this.#entries.delete(clientId);
    return undefined;
  }
}
