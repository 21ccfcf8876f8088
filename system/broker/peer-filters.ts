import { topicMatches } from '../protocol/index.ts';

/**
 * The filters a peer subscribed on this broker, matched against every local publish: the hot
 * path of forwarding. Exact topics are a set lookup; only wildcard filters are scanned. [design]
 */
export class PeerFilters {
  readonly #exact = new Set<string>();
  readonly #wildcards = new Set<string>();

  add(filter: string): void {
    if (filter.includes('+') || filter.includes('#')) this.#wildcards.add(filter);
    else this.#exact.add(filter);
  }

  delete(filter: string): void {
    this.#exact.delete(filter);
    this.#wildcards.delete(filter);
  }

  has(filter: string): boolean {
    return this.#exact.has(filter) || this.#wildcards.has(filter);
  }

  clear(): void {
    this.#exact.clear();
    this.#wildcards.clear();
  }

  matches(topic: string): boolean {
    if (this.#exact.has(topic)) return true;
    for (const filter of this.#wildcards) if (topicMatches(filter, topic)) return true;
    return false;
  }

  get size(): number {
    return this.#exact.size + this.#wildcards.size;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    yield* this.#exact;
    yield* this.#wildcards;
  }
}
