import type { Aedes, Client } from 'aedes';
import type { Logger } from '../common/index.ts';
import { MqfedError, type TokenClaims } from '../protocol/index.ts';
import type { DurablePersistence } from './durable-persistence.ts';
import type { Packet } from './durable-persistence-memory.ts';
import type { SessionInterest } from './local-interest.ts';
import { callPeer, type PeerApiCaller } from './peer-api.ts';
import { SessionLocks } from './session-locks.ts';
import { clientsOf, covered, deliverMoved, pageOf } from './session-messages.ts';
import type { SessionMetrics } from './session-metrics.ts';
import { MAX_HOPS, SessionRelays } from './session-relay.ts';
import { TailSources } from './session-tail-sources.ts';
import { takeSession } from './session-take.ts';
import type {
  MovedMessage,
  ReleaseRequest,
  TailAnswer,
  TailRequest,
  TakeAnswer,
  TakeRequest,
} from './session-wire.ts';

/** The directory of which broker holds which client id's session (the discovery service). */
export interface SessionDirectory {
  claim(
    clientId: string,
  ): Promise<{ epoch: number; previous: { holder: string; linkUrl?: string } | null }>;
  /** Gives up the entry, if this broker still holds it. */
  release(clientId: string): Promise<void>;
  /** Claims every listed id nobody holds; answers those another broker holds. */
  restore(clientIds: readonly string[]): Promise<{ heldElsewhere: string[] }>;
  lookup(clientId: string): Promise<{ holder: string; epoch: number } | undefined>;
}

/** Ids per restore call (the directory's own cap). */
const RESTORE_BATCH = 10_000;

export interface SessionHandoverOptions {
  selfId: string;
  aedes: Aedes;
  persistence: DurablePersistence;
  /** Late-bound: the discovery client exists once the HTTP side is up. */
  directory(): SessionDirectory | undefined;
  caller: PeerApiCaller;
  interest: SessionInterest;
  /** Clears the will of a connection that is about to close because its session moved. */
  discardWill(client: Client): Promise<unknown>;
  /** How long the old holder keeps collecting for a moved session before it sends the tail. */
  relayMs: number;
  /** Deadline of one directory or peer call during a CONNECT. */
  callTimeoutMs: number;
  /** Bytes of messages per page of a take answer or a tail push. */
  pageBytes: number;
  /** Messages one moved session may bring (a hostile giver cannot fill the taker). */
  maxMessages: number;
  metrics: SessionMetrics;
  logger: Logger;
}

interface Held {
  epoch: number;
  /** The principal of the client that made the session; null: anonymous. */
  owner: string | null;
}

/** What aedes gives a client that sent an empty client id. */
const GENERATED_ID = /^aedes_[0-9a-f-]{36}$/;
/** Client ids remembered as given away, for forwarding late callers (and other per-id memos). */
const MAX_REMEMBERED_MOVES = 10_000;
/**
 * Deliveries to a moved session carry DUP for this many relay periods: the relay's copies and
 * the direct ones may cross for as long as a link on a loaded machine lags behind the relay.
 */
const DUP_WINDOW_RELAYS = 5;
/** Past the relay, how long its tail may still come: its retries with backoff and timeouts. */
const TAIL_GRACE_MS = 60_000;
/** A holder whose take failed sends the whole queue when it is back: allowed this long. */
const FAILED_TAKE_TAILS_MS = 24 * 3_600_000;

/**
 * Moves MQTT sessions between broker services (docs/protocol.md, "Sessions across brokers").
 * [design] The discovery service orders the claims on a client id (the newest connection gets
 * the largest epoch and wins); the taker asks the previous holder for the session over the
 * holder's peer API before aedes handles the CONNECT, so aedes finds the session as its own:
 * CONNACK says session present, its queue goes out right after. The old holder closes a live
 * connection of that id (takeover), hands over subscriptions and queue, and keeps collecting
 * for the session for `relayMs` (while the taker's interest reaches the publishing brokers),
 * then pushes that tail, marked DUP (the taker may have had some directly), and forgets the
 * session. Nothing is deleted before the taker has acknowledged it, so a failed call loses
 * nothing that a retry cannot fetch.
 */
export class SessionHandover {
  readonly #o: SessionHandoverOptions;
  readonly #held = new Map<string, Held>();
  readonly #relays: SessionRelays;
  readonly #movedTo = new Map<string, string>();
  /** Client ids whose take failed here, by the broker that should have given: tails resend. */
  readonly #failedTakes = new Map<string, string>();
  readonly #tailSources = new TailSources(MAX_REMEMBERED_MOVES);
  readonly #locks = new SessionLocks();
  /**
   * Connections whose CONNECT passed the handover but that aedes has not registered yet, by
   * client id: a take in that moment must wait for them, or it would find nothing to close and
   * two connections with one id would stay up.
   */
  readonly #registering = new Map<
    string,
    { client: Client; settled: () => void; done: Promise<void> }
  >();
  /**
   * Sessions moved here lately, until when. [design] For a while after a move a message may
   * reach the client twice: once relayed by the old holder and once directly from its origin,
   * in either order, or directly after the client had it at the old holder (published before
   * the move on a topic this broker drew already). Without a message id shared by both paths
   * the copies cannot be told apart, so deliveries in that window carry DUP.
   */
  readonly #arrived = new Map<string, number>();
  #closed = false;

  constructor(options: SessionHandoverOptions) {
    this.#o = options;
    const settle = (client: Client) => {
      const pending = this.#registering.get(client.id);
      if (pending?.client === client) pending.settled();
    };
    this.#relays = new SessionRelays({
      ...options,
      locks: this.#locks,
      forget: (clientId) => this.#forget(clientId),
    });
    options.persistence.onQueued = (clientId, packet) => {
      // Queued for a session that just moved here: it goes out at the client's CONNACK, past
      // the delivery hook that would mark it, so it is marked here.
      if (packet.qos !== 0 && this.#justMovedId(clientId)) packet.dup = true;
      this.#relays.queued(clientId);
    };
    options.aedes.on('clientReady', settle);
    options.aedes.on('clientDisconnect', settle);
    options.aedes.on('clientError', settle);
    // Sessions restored from the data directory are held here until a newer claim elsewhere.
    for (const [clientId, owner] of options.persistence.storedSessions()) {
      this.#held.set(clientId, { epoch: 0, owner: owner ?? null });
    }
  }

  /**
   * This broker (re)registered with discovery: the directory learns again which sessions are
   * here (after a discovery restart it knows none). A session another broker claimed meanwhile
   * (its client connected there while this broker was down) is handed to it as a tail: what
   * queued here for the client is not lost, and the stale copy goes.
   */
  async registered(): Promise<void> {
    const directory = this.#o.directory();
    if (directory === undefined || this.#held.size === 0) return;
    const ids = [...this.#held.keys()];
    const elsewhere: string[] = [];
    for (let i = 0; i < ids.length; i += RESTORE_BATCH) {
      const answer = await directory.restore(ids.slice(i, i + RESTORE_BATCH));
      elsewhere.push(...answer.heldElsewhere);
    }
    for (const clientId of elsewhere) {
      await this.#locks.run(clientId, async () => {
        const record = await directory.lookup(clientId);
        const held = this.#held.get(clientId);
        if (record === undefined || held === undefined || record.holder === this.#o.selfId) return;
        if (clientsOf(this.#o.aedes)[clientId] !== undefined) return;
        this.#held.delete(clientId);
        this.#relays.start(clientId, record.holder, record.epoch, [], false);
        await this.#relays.finish(clientId);
      });
    }
  }

  /**
   * A client authenticated; before aedes looks at its session. Never throws: without the
   * directory or the old holder the client connects with what this broker has (logged, counted).
   */
  async connecting(client: Client, owner: string | null): Promise<void> {
    const clientId = client.id;
    // An id aedes made up for an empty one is this connection's alone: nothing to find.
    if (GENERATED_ID.test(clientId)) return;
    await this.#locks.run(clientId, async () => {
      // Registered here first, so that a tail arriving after this take waits for the client.
      this.#expectRegistration(client);
      // Back before the tail of an earlier move from here went out: send it first, so the
      // session returns whole (the taker gives it back with the tail).
      await this.#relays.finish(clientId);
      const directory = this.#o.directory();
      if (directory === undefined || this.#closed) return;
      let claim: Awaited<ReturnType<SessionDirectory['claim']>>;
      try {
        claim = await withTimeout(directory.claim(clientId), this.#o.callTimeoutMs);
      } catch (error) {
        this.#o.metrics.moves.inc({ side: 'taker', outcome: 'directory_unavailable' });
        this.#o.logger.warn({ err: error, clientId }, 'session directory unavailable');
        return;
      }
      this.#held.set(clientId, { epoch: claim.epoch, owner });
      this.#movedTo.delete(clientId);
      this.#o.persistence.setSessionOwner(clientId, client.clean ? undefined : owner);
      const previous = claim.previous?.holder;
      if (previous === undefined || previous === this.#o.selfId) return;
      const started = performance.now();
      const outcome = await this.#take(clientId, previous, claim.previous?.linkUrl, {
        clientId,
        epoch: claim.epoch,
        owner,
        clean: client.clean,
        from: 0,
      });
      this.#o.metrics.moves.inc({ side: 'taker', outcome });
      if (outcome === 'moved') {
        this.#o.metrics.takeSeconds.observe((performance.now() - started) / 1000);
      }
    });
  }

  #expectRegistration(client: Client): void {
    let settled!: () => void;
    const done = new Promise<void>((resolve) => {
      settled = resolve;
    });
    const timer = setTimeout(() => settled(), this.#o.callTimeoutMs);
    timer.unref();
    const entry = { client, settled, done };
    this.#registering.set(client.id, entry);
    void done.then(() => {
      clearTimeout(timer);
      if (this.#registering.get(client.id) === entry) this.#registering.delete(client.id);
    });
  }

  /** A client disconnected: a clean session ends, and so does its entry in the directory. */
  disconnected(client: Client): void {
    if (!client.clean || clientsOf(this.#o.aedes)[client.id] !== undefined) return;
    const held = this.#held.get(client.id);
    if (held === undefined) return;
    this.#held.delete(client.id);
    void this.#o
      .directory()
      ?.release(client.id)
      .catch((error: unknown) =>
        this.#o.logger.debug({ err: error, clientId: client.id }, 'session release failed'),
      );
  }

  /** `POST /sessions/take` from peer `caller`. */
  async give(caller: TokenClaims, request: TakeRequest): Promise<TakeAnswer> {
    const { clientId } = request;
    return this.#locks.run(clientId, async () => {
      const held = this.#held.get(clientId);
      const empty = { subscriptions: [], messages: [], next: 0, done: true };
      const granted = this.#relays.granted(clientId, caller.sub, request.epoch);
      // A later page of a take already granted.
      if (granted !== undefined) return this.#page(granted, caller, request.from);
      if (held === undefined) {
        const movedTo = this.#movedTo.get(clientId);
        return { found: false, ...(movedTo === undefined ? {} : { movedTo }), ...empty };
      }
      if (request.epoch <= held.epoch) {
        throw new MqfedError('SESSION_MOVED', `${clientId} was claimed here after the caller`);
      }
      if (held.owner !== request.owner) {
        this.#o.metrics.moves.inc({ side: 'giver', outcome: 'forbidden' });
        throw new MqfedError('SESSION_FORBIDDEN', `the session of ${clientId} is not the caller's`);
      }
      await this.#closeConnection(clientId);
      this.#held.delete(clientId);
      this.#remember(clientId, caller.sub);
      if (request.clean) {
        // A clean connect elsewhere ends the session here: nothing moves.
        await this.#forget(clientId);
        this.#o.metrics.moves.inc({ side: 'giver', outcome: 'ended' });
        return { found: true, ...empty };
      }
      const stored = await this.#o.persistence.sessionOf(clientId);
      this.#relays.start(clientId, caller.sub, request.epoch, stored.messages);
      this.#o.metrics.moves.inc({ side: 'giver', outcome: 'moved' });
      const answer = {
        ...this.#page(stored.messages, caller, request.from),
        relaying: this.#tailSources.of(clientId).slice(0, MAX_HOPS),
      };
      const scope = caller.topics.sub;
      answer.subscriptions = stored.subscriptions
        .filter(({ topic }) => covered(scope, topic))
        .map(({ topic, qos }) => ({ topic, qos: Math.min(2, Math.max(0, qos)) as 0 | 1 | 2 }));
      return answer;
    });
  }

  /** Whether the client's session moved here so lately that a delivery may repeat one. */
  justMoved(client: Client): boolean {
    return this.#justMovedId(client.id);
  }

  #justMovedId(clientId: string): boolean {
    if (this.#arrived.size === 0) return false;
    const until = this.#arrived.get(clientId);
    if (until === undefined) return false;
    if (performance.now() <= until) return true;
    this.#arrived.delete(clientId);
    return false;
  }

  /** `POST /sessions/release` from the taker of a session moved from here. */
  async release(caller: TokenClaims, request: ReleaseRequest): Promise<{ released: boolean }> {
    const { clientId } = request;
    return this.#locks.run(clientId, async () => {
      if (this.#relays.granted(clientId, caller.sub, request.epoch) === undefined) {
        return { released: false };
      }
      await this.#relays.finish(clientId);
      return { released: true };
    });
  }

  /** `POST /sessions/tail` from the broker that gave a session here. */
  async receiveTail(caller: TokenClaims, request: TailRequest): Promise<TailAnswer> {
    const { clientId } = request;
    return this.#locks.run(clientId, async () => {
      if (!this.#tailSources.may(clientId, caller.sub)) {
        this.#o.metrics.moves.inc({ side: 'taker', outcome: 'tail_refused' });
        throw new MqfedError('SESSION_FORBIDDEN', `no session of ${clientId} came from the caller`);
      }
      if (!this.#held.has(clientId)) {
        const movedTo = this.#movedTo.get(clientId);
        return { accepted: false, ...(movedTo === undefined ? {} : { movedTo }) };
      }
      if (request.from > 0 && this.#failedTakes.get(clientId) === caller.sub) {
        return { accepted: false, resendFrom: 0 };
      }
      // [design] A client between its take and the end of aedes' CONNECT handling would get
      // the tail queued behind the queue aedes is already sending: stuck until it reconnects.
      await this.#registering.get(clientId)?.done;
      await this.#deliver(clientId, request.messages, true);
      if (request.done) this.#failedTakes.delete(clientId);
      this.#o.metrics.tailMessages.inc(request.messages.length);
      return { accepted: true };
    });
  }

  close(): void {
    this.#closed = true;
    this.#relays.close();
  }

  // --- taking --------------------------------------------------------------------------------

  async #take(
    clientId: string,
    from: string,
    linkUrlHint: string | undefined,
    request: TakeRequest,
  ): Promise<'moved' | 'none' | 'failed' | 'refused'> {
    const taken = await takeSession(this.#o, from, linkUrlHint, request);
    if (taken.outcome === 'failed' || taken.outcome === 'refused') {
      // The holder's tail will find the take failed and send the whole queue.
      this.#failedTakes.set(clientId, taken.holder);
      if (this.#failedTakes.size > MAX_REMEMBERED_MOVES) {
        this.#failedTakes.delete(this.#failedTakes.keys().next().value!);
      }
      this.#tailSources.allow(clientId, [taken.holder], FAILED_TAKE_TAILS_MS);
      this.#o.logger.warn(
        { err: taken.error, clientId, holder: taken.holder },
        'session take failed',
      );
      return taken.outcome;
    }
    if (taken.outcome !== 'found' || request.clean) return 'none';
    const filters = taken.subscriptions.map(({ topic }) => topic);
    // [design] Peers have long known that this broker wants every topic of the session (other
    // clients here want them too): direct copies already flow, the relay would only repeat them.
    const known = this.#o.interest.coveredFor(filters) >= this.#o.relayMs;
    await this.#install(clientId, taken.subscriptions, taken.messages);
    // The holder relays to here, and those that were still relaying to it go through it.
    this.#tailSources.allow(
      clientId,
      [taken.holder, ...taken.relaying],
      this.#o.relayMs + TAIL_GRACE_MS,
    );
    // The relay's copies and the direct ones race for a while after the move, either first.
    this.#arrived.delete(clientId);
    this.#arrived.set(clientId, performance.now() + DUP_WINDOW_RELAYS * this.#o.relayMs);
    if (this.#arrived.size > MAX_REMEMBERED_MOVES) {
      this.#arrived.delete(this.#arrived.keys().next().value!);
    }
    if (known) this.#endRelay(taken.holder, { clientId, epoch: request.epoch });
    return 'moved';
  }

  #endRelay(holder: string, request: ReleaseRequest): void {
    callPeer(this.#o.caller, holder, '/sessions/release', {
      body: request,
      timeoutMs: this.#o.callTimeoutMs,
      maxResponseBytes: 1024,
    }).catch((error: unknown) =>
      // The relay then runs its course: more duplicates, nothing lost.
      this.#o.logger.debug({ err: error, clientId: request.clientId }, 'relay not released'),
    );
  }

  async #install(
    clientId: string,
    subscriptions: TakeAnswer['subscriptions'],
    messages: readonly MovedMessage[],
  ): Promise<void> {
    if (subscriptions.length > 0) {
      await this.#o.persistence.addSubscriptions(
        { id: clientId },
        subscriptions.map(({ topic, qos }) => ({ topic, qos })) as never,
      );
    }
    // A topic this broker already drew from peers for other clients may also come to it
    // directly while the session moves: its queued copy goes out with DUP. [design]
    const { interest } = this.#o;
    const marked = messages.map((m) =>
      m.dup || !interest.wants(m.topic) ? m : { ...m, dup: true },
    );
    interest.adoptSession(
      clientId,
      subscriptions.map(({ topic }) => topic),
    );
    await this.#deliver(clientId, marked, false);
  }

  async #deliver(clientId: string, messages: readonly MovedMessage[], tail: boolean) {
    const { aedes, persistence, metrics } = this.#o;
    const refused = await deliverMoved(aedes, persistence, clientId, messages, tail);
    if (refused > 0) metrics.refusedMessages.inc(refused);
  }

  // --- giving --------------------------------------------------------------------------------

  /** Entries of the take's snapshot from `from`, within a page, that the taker may have. */
  #page(snapshot: readonly Packet[], caller: TokenClaims, from: number) {
    const page = pageOf(snapshot, from, snapshot.length, this.#o.pageBytes, (moved) =>
      covered(caller.topics.sub, moved.topic),
    );
    return {
      found: true,
      subscriptions: [] as TakeAnswer['subscriptions'],
      messages: page.messages,
      next: page.next,
      done: page.next >= snapshot.length,
    };
  }

  /** Takeover: a live connection with this id here closes, without its will. */
  async #closeConnection(clientId: string): Promise<void> {
    await this.#registering.get(clientId)?.done;
    const client = clientsOf(this.#o.aedes)[clientId];
    if (client === undefined) return;
    await this.#o.discardWill(client);
    await new Promise<void>((resolve) => client.close(() => resolve()));
    this.#o.metrics.takeovers.inc();
  }

  async #forget(clientId: string): Promise<void> {
    this.#o.interest.forgetSession(clientId);
    await this.#o.persistence.dropSession(clientId);
  }

  #remember(clientId: string, to: string): void {
    this.#movedTo.delete(clientId);
    this.#movedTo.set(clientId, to);
    if (this.#movedTo.size > MAX_REMEMBERED_MOVES) {
      this.#movedTo.delete(this.#movedTo.keys().next().value!);
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MqfedError('PEER_UNREACHABLE', `no answer in ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
