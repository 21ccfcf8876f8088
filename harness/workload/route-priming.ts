/** One route to prime: a subscriber that should receive a publisher's messages. */
export interface Route {
  subscriber: number;
  publisher: number;
}

export interface PrimeOptions {
  /** Sends one probe from publisher `index` (on each of its topics). */
  probe(index: number): void;
  /** Gives up after this long, with the routes that saw no probe yet. */
  timeoutMs: number;
  /** Probes sent per second at most, over all publishers. */
  probesPerSecond?: number;
  /** How often probes go out. */
  tickMs?: number;
  /** Waits; injectable so tests need no real time. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Probes sent per second by default, after the first pass. [design] A probe reaches every
 * subscriber of its topics, and on a client host each one is a request and a batch of arrivals:
 * probing thousands of publishers every tick floods the brokers and the client hosts with more
 * than the run itself sends (4,000 publishers every 100 ms are 40,000 probes a second against a
 * schedule of 800 messages), and the backlog then delays the measured messages. At this budget a
 * run of a few hundred publishers still probes each of them every tick, as before. The first
 * pass goes out at once: a probe is the first publish on its topic, and topics that appear
 * together reach the peers in one advertisement of each broker's topic space. Spread over
 * seconds they would make as many, and each makes every peer recompute its routes, which at
 * thousands of topics costs a broker more than a second of CPU each time.
 */
export const PRIME_PROBES_PER_SECOND = 2_000;
export const PRIME_TICK_MS = 100;

/**
 * Priming: publishers send probes until every route (a subscriber that should receive a
 * publisher's messages) has carried one, so that the first measured messages are not lost to
 * a peer link still being set up. Only publishers with a route still waiting are probed, in turn,
 * within a budget of probes per second; a route is done once its subscriber reported one probe
 * of that publisher (`arrived`). Memory is one entry per waiting route.
 */
export class RoutePrimer {
  /** Publisher → subscribers still waiting for one of its probes. */
  readonly #waiting = new Map<number, Set<number>>();
  #missing = 0;
  readonly total: number;

  constructor(routes: readonly Route[]) {
    for (const { subscriber, publisher } of routes) {
      let subscribers = this.#waiting.get(publisher);
      if (subscribers === undefined) {
        subscribers = new Set();
        this.#waiting.set(publisher, subscribers);
      }
      if (!subscribers.has(subscriber)) {
        subscribers.add(subscriber);
        this.#missing += 1;
      }
    }
    this.total = this.#missing;
  }

  /** Routes that have carried no probe yet. */
  get missing(): number {
    return this.#missing;
  }

  /** A probe of `publisher` reached `subscriber`. */
  arrived(subscriber: number, publisher: number): void {
    const subscribers = this.#waiting.get(publisher);
    if (subscribers?.delete(subscriber) !== true) return;
    this.#missing -= 1;
    if (subscribers.size === 0) this.#waiting.delete(publisher);
  }

  /** Probes until every route is primed or time is up; resolves with the routes still missing. */
  async prime(options: PrimeOptions): Promise<number> {
    const tickMs = options.tickMs ?? PRIME_TICK_MS;
    const perTick = Math.max(
      1,
      Math.floor(((options.probesPerSecond ?? PRIME_PROBES_PER_SECOND) * tickMs) / 1000),
    );
    const sleep =
      options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const now = options.now ?? (() => performance.now());
    const deadline = now() + options.timeoutMs;
    /** Publishers still to probe in this pass; a new pass starts with those still waiting. */
    let pass: number[] = [];
    let first = true;
    while (this.#missing > 0 && now() < deadline) {
      if (pass.length === 0) pass = [...this.#waiting.keys()].reverse();
      // The first pass goes out at once, whatever the budget (see PRIME_PROBES_PER_SECOND).
      const budget = first ? pass.length : perTick;
      first = false;
      for (let sent = 0; sent < budget && pass.length > 0; ) {
        const publisher = pass.pop()!;
        // Primed since the pass began: no probe needed.
        if (!this.#waiting.has(publisher)) continue;
        options.probe(publisher);
        sent += 1;
      }
      await sleep(tickMs);
    }
    return this.#missing;
  }
}

/**
 * How long priming may take by default: 10 s, plus ten passes over every publisher at the probe
 * budget (20 s for 4,000 publishers). [design] A crowd's routes take longer: each broker learns
 * thousands of topics and interests at once, and an unprimed route costs the first measured
 * messages on it, counted as loss that is not the federation's steady state.
 */
export function primeTimeoutMs(publishers: number): number {
  return 10_000 + Math.ceil((10 * publishers * 1000) / PRIME_PROBES_PER_SECOND);
}
