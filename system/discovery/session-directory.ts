import type { Clock } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';

/**
 * Which broker holds the persistent MQTT session of each client id (docs/protocol.md, Sessions).
 * A broker whose client connects with clean-session false claims the session here; the broker the
 * client left learns from the answer that it must hand the session over.
 */

/** Who held a session, and under which epoch. */
export interface SessionHolder {
  readonly holder: string;
  readonly epoch: number;
}

export interface SessionEntry extends SessionHolder {
  readonly clientId: string;
  /** When the holder claimed it, epoch milliseconds. */
  readonly since: number;
}

/** What a claim did: `new` (nobody held it), `moved` (another broker did), `kept` (the caller). */
export type ClaimOutcome = 'new' | 'moved' | 'kept';

export interface SessionClaimResult {
  readonly entry: SessionEntry;
  /** The entry this claim replaced; it may name the caller itself. */
  readonly previous: SessionHolder | undefined;
  readonly outcome: ClaimOutcome;
}

export interface SessionRestoreResult {
  /** Listed ids that nobody held and that the caller holds now. */
  readonly claimed: number;
  /** Listed ids held by another broker, left alone; at most `maxHeldElsewhereListed`. */
  readonly heldElsewhere: string[];
}

/** The limit a refused claim ran into (the `limit` label of discovery's refusal counter). */
export type SessionLimit = 'sessions_per_broker' | 'sessions';

export interface SessionDirectoryOptions {
  clock: Clock;
  /** Most sessions one broker may hold (SESSION_LIMIT_EXCEEDED). */
  maxSessionsPerBroker: number;
  /** Most sessions over all brokers (SESSION_LIMIT_EXCEEDED). */
  maxSessions: number;
  /** The sessions of a broker that has held no lease for this long are dropped. */
  orphanTtlMs: number;
  /** How often the periodic sweep runs; none when absent (tests call `sweep`). */
  sweepIntervalMs?: number;
  /** Told when a claim or a restore is refused for going over a cap (metrics). */
  onLimit?: (limit: SessionLimit) => void;
  /** Told how many sessions a sweep dropped, and whose (logs). */
  onOrphansDropped?: (holder: string, count: number) => void;
}

export interface SessionDirectory {
  /**
   * `holder` holds the session of `clientId` from now on, under a new epoch larger than every
   * earlier one. SESSION_LIMIT_EXCEEDED when the holder or the directory is full.
   */
  claim(clientId: string, holder: string): SessionClaimResult;
  lookup(clientId: string): SessionEntry | undefined;
  /**
   * The holder gives the session up. SESSION_NOT_FOUND when nobody holds it; SESSION_MOVED when
   * another broker does, or when `epoch` is given and is not the current one.
   */
  release(clientId: string, holder: string, epoch?: number): void;
  /**
   * Claims each listed id that nobody holds, all or none: SESSION_LIMIT_EXCEEDED when they would
   * not all fit. Ids the caller holds already keep their epoch; ids of other brokers are left.
   */
  restore(holder: string, clientIds: readonly string[]): SessionRestoreResult;
  /** A broker got a lease: its sessions are no longer orphans. */
  brokerJoined(id: string): void;
  /** A broker's lease ended: its sessions are dropped if it gets none within the orphan TTL. */
  brokerLeft(id: string): void;
  /** Drops the sessions of every broker leaseless for the orphan TTL; answers how many. */
  sweep(): number;
  /** Sessions of one holder (tests, logs). */
  heldBy(holder: string): number;
  readonly size: number;
  /** Stops the sweep timer and forgets everything. */
  close(): void;
}

/** Most ids a restore answer lists in `heldElsewhere`. */
export const maxHeldElsewhereListed = 1000;

/**
 * One object per session; the client id is the map key and not repeated, and the holder string is
 * the one interned in `holders`, so an entry costs its key, this object and one Set slot.
 */
interface Entry {
  holder: string;
  epoch: number;
  since: number;
}

interface Holder {
  readonly id: string;
  readonly clientIds: Set<string>;
  /** When the broker was last seen without a lease; undefined while it holds one. */
  orphanSince: number | undefined;
}

/**
 * [design] Claims are synchronous in one process: the order in which the event loop runs them is
 * the order of the epochs, so "the newest connection wins" needs no lock and is deterministic.
 *
 * [design] Epochs start at the start time in microseconds, not at 1: a restarted discovery
 * service then hands out epochs larger than any it gave before (unless it granted more than a
 * million claims a second on average), so an epoch a broker kept from before the restart never
 * looks newer than a claim made after it. 2^53 microseconds reach into the 2200s.
 */
export function createSessionDirectory(options: SessionDirectoryOptions): SessionDirectory {
  const { clock, maxSessionsPerBroker, maxSessions, orphanTtlMs } = options;
  const entries = new Map<string, Entry>();
  const holders = new Map<string, Holder>();
  /** Brokers holding a lease now, as the broker directory told. */
  const leased = new Set<string>();
  let lastEpoch = Math.max(0, Math.floor(clock.now()) * 1000);

  const expired = (holder: Holder, now: number) =>
    holder.orphanSince !== undefined && now - holder.orphanSince >= orphanTtlMs;
  const drop = (holder: Holder) => {
    for (const clientId of holder.clientIds) entries.delete(clientId);
    holders.delete(holder.id);
    options.onOrphansDropped?.(holder.id, holder.clientIds.size);
  };
  /** Drops the holder's sessions now if it is an expired orphan, so no answer ever shows them. */
  const settle = (id: string) => {
    const holder = holders.get(id);
    if (holder !== undefined && expired(holder, clock.now())) drop(holder);
  };
  /** The entry of `clientId`, unless its holder's sessions have just expired. */
  const current = (clientId: string): Entry | undefined => {
    const entry = entries.get(clientId);
    if (entry === undefined) return undefined;
    settle(entry.holder);
    return entries.get(clientId);
  };
  /** How many sessions `id` holds, after dropping them if it is an expired orphan. */
  const countOf = (id: string): number => {
    settle(id);
    return holders.get(id)?.clientIds.size ?? 0;
  };
  const holderOf = (id: string): Holder => {
    let holder = holders.get(id);
    if (holder === undefined) {
      holder = {
        id,
        clientIds: new Set(),
        orphanSince: leased.has(id) ? undefined : clock.now(),
      };
      holders.set(id, holder);
    }
    return holder;
  };
  const forget = (holderId: string, clientId: string) => {
    const holder = holders.get(holderId);
    if (holder === undefined) return;
    holder.clientIds.delete(clientId);
    if (holder.clientIds.size === 0) holders.delete(holderId);
  };
  const refuse = (limit: SessionLimit, message: string): never => {
    options.onLimit?.(limit);
    throw new MqfedError('SESSION_LIMIT_EXCEEDED', message);
  };
  /** Refuses, before anything changes, `more` new sessions of `holder` that would not fit. */
  const checkRoom = (holder: string, more: number, newEntries: number) => {
    const held = countOf(holder);
    if (held + more > maxSessionsPerBroker) {
      refuse(
        'sessions_per_broker',
        `${holder} holds ${held} sessions; at most ${maxSessionsPerBroker}`,
      );
    }
    if (entries.size + newEntries > maxSessions) {
      refuse('sessions', `the directory holds ${entries.size} sessions; at most ${maxSessions}`);
    }
  };
  const place = (clientId: string, holder: Holder): Entry => {
    lastEpoch += 1;
    const entry = { holder: holder.id, epoch: lastEpoch, since: clock.now() };
    entries.set(clientId, entry);
    holder.clientIds.add(clientId);
    return entry;
  };
  const view = (clientId: string, entry: Entry): SessionEntry => ({
    clientId,
    holder: entry.holder,
    epoch: entry.epoch,
    since: entry.since,
  });

  const timer =
    options.sweepIntervalMs === undefined
      ? undefined
      : setInterval(() => sweep(), options.sweepIntervalMs).unref();
  function sweep(): number {
    const now = clock.now();
    let dropped = 0;
    for (const holder of [...holders.values()]) {
      if (!expired(holder, now)) continue;
      dropped += holder.clientIds.size;
      drop(holder);
    }
    return dropped;
  }

  return {
    claim(clientId, holderId) {
      const old = current(clientId);
      const kept = old?.holder === holderId;
      // A move or a new entry adds one to the caller's count; only a new entry grows the total.
      if (!kept) checkRoom(holderId, 1, old === undefined ? 1 : 0);
      if (old !== undefined && !kept) forget(old.holder, clientId);
      const entry = place(clientId, holderOf(holderId));
      const previous = old === undefined ? undefined : { holder: old.holder, epoch: old.epoch };
      const outcome: ClaimOutcome = old === undefined ? 'new' : kept ? 'kept' : 'moved';
      return { entry: view(clientId, entry), previous, outcome };
    },
    lookup(clientId) {
      const entry = current(clientId);
      return entry === undefined ? undefined : view(clientId, entry);
    },
    release(clientId, holderId, epoch) {
      const entry = current(clientId);
      if (entry === undefined) {
        throw new MqfedError('SESSION_NOT_FOUND', 'nobody holds this session');
      }
      if (entry.holder !== holderId || (epoch !== undefined && epoch !== entry.epoch)) {
        throw new MqfedError(
          'SESSION_MOVED',
          `held by ${entry.holder} under epoch ${entry.epoch} now`,
        );
      }
      entries.delete(clientId);
      forget(holderId, clientId);
    },
    restore(holderId, clientIds) {
      settle(holderId);
      const free: string[] = [];
      const heldElsewhere: string[] = [];
      for (const clientId of new Set(clientIds)) {
        const entry = current(clientId);
        if (entry === undefined) free.push(clientId);
        else if (entry.holder !== holderId && heldElsewhere.length < maxHeldElsewhereListed) {
          heldElsewhere.push(clientId);
        }
      }
      checkRoom(holderId, free.length, free.length);
      if (free.length > 0) {
        const holder = holderOf(holderId);
        for (const clientId of free) place(clientId, holder);
      }
      return { claimed: free.length, heldElsewhere };
    },
    brokerJoined(id) {
      leased.add(id);
      settle(id);
      const holder = holders.get(id);
      if (holder !== undefined) holder.orphanSince = undefined;
    },
    brokerLeft(id) {
      leased.delete(id);
      const holder = holders.get(id);
      if (holder !== undefined && holder.orphanSince === undefined) {
        holder.orphanSince = clock.now();
      }
    },
    sweep,
    heldBy: countOf,
    get size() {
      return entries.size;
    },
    close() {
      if (timer !== undefined) clearInterval(timer);
      entries.clear();
      holders.clear();
      leased.clear();
    },
  };
}
