import type { Logger } from '../common/index.ts';
import { backoffDelay } from './backoff.ts';
import type { DurablePersistence } from './durable-persistence.ts';
import type { Packet } from './durable-persistence-memory.ts';
import { callPeer, type PeerApiCaller } from './peer-api.ts';
import type { SessionLocks } from './session-locks.ts';
import { pageOf } from './session-messages.ts';
import type { SessionMetrics } from './session-metrics.ts';
import { type TailAnswer, type TailRequest, tailAnswerSchema } from './session-wire.ts';

export interface SessionRelayOptions {
  persistence: DurablePersistence;
  caller: PeerApiCaller;
  locks: SessionLocks;
  relayMs: number;
  callTimeoutMs: number;
  pageBytes: number;
  /** Drops a session that went: its subscriptions, queue and interest here. */
  forget(clientId: string): Promise<void>;
  metrics: SessionMetrics;
  logger: Logger;
}

interface Relay {
  to: string;
  epoch: number;
  /** The queue as the take saw it: its pages come from this copy. */
  snapshot: readonly Packet[];
  /**
   * Queue entries the taker has (the take's, then every tail page it accepted), by identity:
   * entries acknowledged by a closing connection may leave the queue meanwhile, so positions
   * would shift. [design]
   */
  given: WeakSet<Packet>;
  /** How many it has; a tail page says it, so a taker whose take failed asks for everything. */
  count: number;
  timer: NodeJS.Timeout | undefined;
  /** A push of what queued since is scheduled. */
  pushing: boolean;
}

/** Followed `movedTo` answers per tail; a loop between hostile peers ends here. */
export const MAX_HOPS = 4;
/** Tail pushes to a taker that does not answer, backing off, before the tail is given up. */
const TAIL_ATTEMPTS = 6;
/** Their backoff, as the links' (backoff.ts): the tails of a crowd that moved do not come back in one wave. */
const TAIL_RETRY_BASE_MS = 200;
const TAIL_RETRY_MAX_MS = 5_000;

/**
 * The old holder's side of a move, after the take (docs/protocol.md, "Sessions across brokers",
 * step 6). [design] Until the publishing brokers know the taker wants the session's topics,
 * some of its messages still arrive here; the session stays here for `relayMs`, and what queues
 * in it goes on to the taker as it queues (in queue order, so the client gets it soon and seldom
 * after later messages that took the direct way), marked DUP since the taker may have had it
 * directly. At the end the rest goes, with retries, and the session is forgotten here.
 */
export class SessionRelays {
  readonly #o: SessionRelayOptions;
  readonly #relays = new Map<string, Relay>();
  #closed = false;

  constructor(options: SessionRelayOptions) {
    this.#o = options;
  }

  /** A message was queued for the session of `clientId`: pushed on if it is being relayed. */
  queued(clientId: string): void {
    const relay = this.#relays.get(clientId);
    if (relay === undefined || relay.pushing) return;
    relay.pushing = true;
    setImmediate(() => this.#run(clientId, () => this.#pushQueued(clientId, relay)));
  }

  /** Work started by a timer: in turn with the id's other work, and never an unhandled failure. */
  #run(clientId: string, work: () => Promise<void>): void {
    this.#o.locks.run(clientId, work).catch((error: unknown) => {
      if (!this.#closed) this.#o.logger.error({ err: error, clientId }, 'session relay failed');
    });
  }

  /** The relay to `to` for the take of `epoch`, if there is one: its snapshot. */
  granted(clientId: string, to: string, epoch: number): readonly Packet[] | undefined {
    const relay = this.#relays.get(clientId);
    return relay?.to === to && relay.epoch === epoch ? relay.snapshot : undefined;
  }

  /**
   * Starts relaying to `to`, whose take gets `snapshot`; untimed, the caller ends it (`finish`)
   * at once.
   */
  start(clientId: string, to: string, epoch: number, snapshot: readonly Packet[], timed = true) {
    const relay: Relay = {
      to,
      epoch,
      snapshot,
      given: new WeakSet(snapshot),
      count: snapshot.length,
      timer: undefined,
      pushing: false,
    };
    this.#relays.set(clientId, relay);
    if (!timed) return;
    relay.timer = setTimeout(
      () => this.#run(clientId, () => this.finish(clientId)),
      this.#o.relayMs,
    );
    relay.timer.unref();
  }

  /** Ends the relay of `clientId`, if any: the rest goes to the taker, the session goes here. */
  async finish(clientId: string): Promise<void> {
    const relay = this.#relays.get(clientId);
    if (relay === undefined) return;
    clearTimeout(relay.timer);
    this.#relays.delete(clientId);
    const { messages } = await this.#o.persistence.sessionOf(clientId);
    let to = relay.to;
    let rest = messages.filter((packet) => !relay.given.has(packet));
    let count = relay.count;
    for (let attempt = 0, hops = 0; attempt < TAIL_ATTEMPTS && !this.#closed; ) {
      try {
        const answer = await this.#push(clientId, to, relay.epoch, rest, count, true);
        // Shutting down: the session stays in the store, for the directory to sort out later.
        if (this.#closed) return;
        if (answer.accepted) {
          await this.#o.forget(clientId);
          return;
        }
        if (answer.resendFrom === 0 && count > 0) {
          rest = messages;
          count = 0;
          continue;
        }
        if (answer.movedTo !== undefined && hops < MAX_HOPS && answer.movedTo !== to) {
          to = answer.movedTo;
          hops += 1;
          continue;
        }
        break;
      } catch (error) {
        attempt += 1;
        this.#o.logger.warn({ err: error, clientId, to, attempt }, 'session tail not taken');
        await delay(backoffDelay(attempt, TAIL_RETRY_BASE_MS, TAIL_RETRY_MAX_MS, Math.random));
      }
    }
    if (this.#closed) return;
    // Nobody took the tail: it is lost, and said so; keeping it here would feed nobody.
    this.#o.metrics.moves.inc({ side: 'giver', outcome: 'tail_lost' });
    this.#o.logger.error(
      { clientId, to, lost: messages.length - relay.count },
      'session tail could not be handed over',
    );
    await this.#o.forget(clientId);
  }

  close(): void {
    this.#closed = true;
    for (const relay of this.#relays.values()) clearTimeout(relay.timer);
  }

  /** Pushes what queued since the last push; the relay goes on. */
  async #pushQueued(clientId: string, relay: Relay): Promise<void> {
    relay.pushing = false;
    if (this.#relays.get(clientId) !== relay || this.#closed) return;
    const { messages } = await this.#o.persistence.sessionOf(clientId);
    const fresh = messages.filter((packet) => !relay.given.has(packet));
    if (fresh.length === 0) return;
    try {
      const answer = await this.#push(clientId, relay.to, relay.epoch, fresh, relay.count, false);
      if (!answer.accepted) return;
      for (const packet of fresh) relay.given.add(packet);
      relay.count += fresh.length;
    } catch (error) {
      // The end of the relay pushes it again, with retries.
      this.#o.logger.debug({ err: error, clientId }, 'session relay push failed');
    }
  }

  /** Sends `messages` as tail pages; `count`: how many the taker has had before them. */
  async #push(
    clientId: string,
    to: string,
    epoch: number,
    messages: readonly Packet[],
    count: number,
    last: boolean,
  ): Promise<TailAnswer> {
    let index = 0;
    do {
      const page = pageOf(messages, index, messages.length, this.#o.pageBytes);
      const body: TailRequest = {
        clientId,
        epoch,
        from: count + index,
        messages: page.messages,
        done: last && page.next >= messages.length,
      };
      index = page.next;
      const answer = tailAnswerSchema.parse(
        await callPeer<unknown>(this.#o.caller, to, '/sessions/tail', {
          body,
          timeoutMs: this.#o.callTimeoutMs,
          maxResponseBytes: 64 * 1024,
        }),
      );
      if (!answer.accepted) return answer;
    } while (index < messages.length);
    return { accepted: true };
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
