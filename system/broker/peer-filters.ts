import { topicMatches } from '../protocol/index.ts';

/**
 * The filters a peer subscribed on this broker, matched against every local publish: the hot
 * path of forwarding. Exact topics are a set lookup; only wildcard filters are scanned. [design]
 * Each set is made at its first filter: a link holds two of these (what the peer subscribed,
 * what it advertised) and most hold exact filters or wildcards, often neither, so an empty set
 * (some 200 bytes) would mostly be kept for nothing.
 */
export class PeerFilters {
  #exact: Set<string> | undefined;
  #wildcards: Set<string> | undefined;

  add(filter: string): void {
    if (filter.includes('+') || filter.includes('#')) {
      this.#wildcards ??= new Set();
      this.#wildcards.add(filter);
    } else {
      this.#exact ??= new Set();
      this.#exact.add(filter);
    }
  }

  delete(filter: string): void {
    this.#exact?.delete(filter);
    this.#wildcards?.delete(filter);
  }

  has(filter: string): boolean {
    return this.#exact?.has(filter) === true || this.#wildcards?.has(filter) === true;
  }

  clear(): void {
    this.#exact = undefined;
    this.#wildcards = undefined;
  }

  matches(topic: string): boolean {
    if (this.#exact?.has(topic) === true) return true;
    if (this.#wildcards === undefined) return false;
    for (const filter of this.#wildcards) if (topicMatches(filter, topic)) return true;
    return false;
  }

  get size(): number {
    return (this.#exact?.size ?? 0) + (this.#wildcards?.size ?? 0);
  }

  *[Symbol.iterator](): IterableIterator<string> {
    if (this.#exact !== undefined) yield* this.#exact;
    if (this.#wildcards !== undefined) yield* this.#wildcards;
  }
}
