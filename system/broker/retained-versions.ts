import type { Clock } from '../common/index.ts';

/**
 * The version of a retained message (or of its deletion), federation-wide. [design] `time` is the
 * origin broker's clock in ms when its client published, made monotone per origin; `origin` is
 * that broker's id. The newer version wins at every broker, whatever order copies arrive in
 * (live over a link, fetched later, or both), so concurrent retains of one topic on two brokers
 * leave one winner everywhere: last writer wins, ties broken by origin.
 */
export interface RetainedVersion {
  readonly time: number;
  readonly origin: string;
}

/** Negative when `a` is older than `b`: by time, then by origin in UTF-16 code units. */
export function compareVersions(a: RetainedVersion, b: RetainedVersion): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.origin === b.origin) return 0;
  return a.origin < b.origin ? -1 : 1;
}

export interface RetainedVersionsOptions {
  clock: Clock;
  /** How long a deletion is remembered (its tombstone), ms. */
  tombstoneMs: number;
  /** Tombstones kept at most; past it the oldest is forgotten first. */
  maxTombstones: number;
}

export const DEFAULT_RETAINED_VERSIONS_OPTIONS = Object.freeze({
  tombstoneMs: 60 * 60_000,
  maxTombstones: 10_000,
});

/** What the broker holds for a topic: a message of that version, or its tombstone. */
export interface HeldVersion {
  readonly version: RetainedVersion;
  readonly deleted: boolean;
}

interface Tombstone {
  readonly version: RetainedVersion;
  readonly until: number;
}

/** Something that wants to know which topics hold a retained message this broker originated. */
export type OwnTopicListener = (topic: string, held: boolean) => void;

/**
 * The versions of the retained messages a broker holds and the tombstones of recent deletes,
 * in memory; the durable persistence writes them through to its store. Pure bookkeeping: the
 * caller decides whether what it was told to store is kept (`record` answers whether it wins).
 *
 * [design] A tombstone keeps a deleted topic's version for `tombstoneMs` (1 h by default), so an
 * older copy fetched from a peer that missed the delete cannot come back. Tombstones are bounded
 * in count; when the bound forces one out early, a copy older than it may return: the price of
 * the bound, counted by the caller through `onForget`.
 */
export class RetainedVersions {
  readonly #options: RetainedVersionsOptions;
  readonly #messages = new Map<string, RetainedVersion>();
  /** In the order they were written, which is the order they expire in. */
  readonly #tombstones = new Map<string, Tombstone>();
  /** The version each payload about to be stored carries (see `tag`). */
  readonly #tagged = new WeakMap<object, RetainedVersion>();
  readonly #ownListeners: OwnTopicListener[] = [];
  #selfId = '';
  #lastIssued = 0;
  /** Called with each tombstone dropped (expired or pushed out), to drop its stored row. */
  onForget: (topic: string) => void = () => {};

  constructor(options: RetainedVersionsOptions) {
    this.#options = options;
  }

  /** The id this broker issues versions under (aedes' broker id). */
  set selfId(id: string) {
    this.#selfId = id;
  }

  get selfId(): string {
    return this.#selfId;
  }

  /** Tells `listener` of every topic that starts or stops holding a message of this origin. */
  onOwnTopic(listener: OwnTopicListener): void {
    this.#ownListeners.push(listener);
    for (const [topic, version] of this.#messages) {
      if (version.origin === this.#selfId) listener(topic, true);
    }
  }

  /** What is held for `topic`: the message's version, or a live tombstone. */
  held(topic: string): HeldVersion | undefined {
    const version = this.#messages.get(topic);
    if (version !== undefined) return { version, deleted: false };
    const tombstone = this.#tombstones.get(topic);
    if (tombstone === undefined) return undefined;
    if (tombstone.until <= this.#options.clock.now()) {
      this.#dropTombstone(topic);
      return undefined;
    }
    return { version: tombstone.version, deleted: true };
  }

  /** True when a message or delete of `version` would replace what is held for `topic`. */
  isNewer(topic: string, version: RetainedVersion): boolean {
    const held = this.held(topic);
    return held === undefined || compareVersions(version, held.version) > 0;
  }

  /**
   * A fresh version for a local client's retained publish on `topic`: the clock, but never at or
   * below a version this broker issued before, nor at or below the one held for the topic, so
   * the local publish wins here and, carrying the same version, at every peer. [design] The
   * latter keeps a peer with a fast clock from making this broker's clients' retains vanish.
   */
  issue(topic: string): RetainedVersion {
    const held = this.held(topic);
    const time = Math.max(
      this.#options.clock.now(),
      this.#lastIssued + 1,
      held === undefined ? 0 : held.version.time + 1,
    );
    this.#lastIssued = time;
    return { time, origin: this.#selfId };
  }

  /**
   * Marks the payload object aedes will hand to `storeRetained` with its version. [design] aedes
   * copies a publish into its own packet before it stores it, keeping only known fields, but the
   * payload is passed along by reference: it is what links the two.
   */
  tag(payload: object, version: RetainedVersion): void {
    this.#tagged.set(payload, version);
  }

  /** The version `payload` was tagged with, once. */
  take(payload: object): RetainedVersion | undefined {
    const version = this.#tagged.get(payload);
    if (version !== undefined) this.#tagged.delete(payload);
    return version;
  }

  /**
   * Records a message (or, `deleted`, a delete) of `version` on `topic` if it is newer than what
   * is held; false, and nothing changes, otherwise.
   */
  record(topic: string, version: RetainedVersion, deleted: boolean): boolean {
    if (!this.isNewer(topic, version)) return false;
    this.#restore(topic, version, deleted, this.#options.clock.now() + this.#options.tombstoneMs);
    return true;
  }

  /** A message read back from the store at start. */
  restoreMessage(topic: string, version: RetainedVersion): void {
    this.#restore(topic, version, false, 0);
  }

  /** A tombstone read back from the store at start, dropped at once if it has expired. */
  restoreTombstone(topic: string, version: RetainedVersion, until: number): void {
    if (until <= this.#options.clock.now()) {
      this.#noteIssued(version);
      this.onForget(topic);
      return;
    }
    this.#restore(topic, version, true, until);
  }

  /** When the tombstone of `topic` expires; undefined when it has none. */
  tombstoneUntil(topic: string): number | undefined {
    return this.#tombstones.get(topic)?.until;
  }

  /** The live tombstones on topics `accept` says yes to. */
  *tombstones(accept: (topic: string) => boolean): Generator<[string, RetainedVersion]> {
    this.#expire();
    for (const [topic, tombstone] of this.#tombstones) {
      if (accept(topic)) yield [topic, tombstone.version];
    }
  }

  get tombstoneCount(): number {
    return this.#tombstones.size;
  }

  #restore(topic: string, version: RetainedVersion, deleted: boolean, until: number): void {
    this.#noteIssued(version);
    const before = this.#messages.get(topic);
    if (deleted) {
      this.#messages.delete(topic);
      // Re-inserted at the end: the insertion order stays the expiry order.
      this.#tombstones.delete(topic);
      this.#tombstones.set(topic, { version, until });
      this.#expire();
      while (this.#tombstones.size > this.#options.maxTombstones) {
        const oldest = this.#tombstones.keys().next().value as string;
        this.#dropTombstone(oldest);
      }
    } else {
      this.#tombstones.delete(topic);
      this.#messages.set(topic, version);
    }
    const wasOwn = before?.origin === this.#selfId;
    const isOwn = !deleted && version.origin === this.#selfId;
    if (wasOwn !== isOwn) for (const listener of this.#ownListeners) listener(topic, isOwn);
  }

  /** Versions this broker issued before a restart keep the clock from going back. [design] */
  #noteIssued(version: RetainedVersion): void {
    if (version.origin === this.#selfId && version.time > this.#lastIssued) {
      this.#lastIssued = version.time;
    }
  }

  #expire(): void {
    const now = this.#options.clock.now();
    for (const [topic, tombstone] of this.#tombstones) {
      if (tombstone.until > now) break;
      this.#dropTombstone(topic);
    }
  }

  #dropTombstone(topic: string): void {
    if (this.#tombstones.delete(topic)) this.onForget(topic);
  }
}
