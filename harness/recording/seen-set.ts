/** Messages per chunk: 1,024 bits, 128 bytes. */
export const SEEN_CHUNK = 1024;

/** A chunk whose every expected message arrived: its bits are dropped, only this mark stays. */
const COMPLETE = 'complete';

/**
 * Which of one publisher's messages one subscriber has received, to tell a first arrival from a
 * duplicate and, at the end, an arrival from a loss. [design] Exact, in bounded memory: the
 * sequence numbers are cut into chunks of 1,024; a chunk gets its 128-byte bitset when its first
 * message arrives and drops it again once every message the subscriber expects from it has
 * arrived. So a pair that loses nothing holds one or two live chunks (the one filling, and the
 * next when messages overtake each other), whatever the length of the run; each chunk that keeps
 * a loss keeps its 128 bytes. The bound, fixed before the run starts, is one bit per scheduled
 * message (count / 8 bytes) plus a pointer and a counter per chunk, reached only when every
 * chunk has a hole. A window behind a high-water mark would be smaller still, but would have to
 * guess about a message older than the window, and a QoS 1 resend after an outage is exactly
 * such a message.
 */
export class SeenSet {
  readonly #count: number;
  readonly #chunks: (Uint32Array | typeof COMPLETE | undefined)[];
  /** Messages seen per chunk, and how many the chunk can ever see. */
  readonly #seen: Uint16Array;
  readonly #capacity: Uint16Array;
  readonly #expected: (seq: number) => boolean;

  /**
   * `count` messages, numbered 0 .. count − 1; `expected(seq)` says whether one of them can
   * arrive at all (the subscriber's filters match its topic, and it is recorded). It is asked
   * once per message, when its chunk first gets one.
   */
  constructor(count: number, expected: (seq: number) => boolean) {
    this.#count = count;
    const chunks = Math.ceil(count / SEEN_CHUNK);
    this.#chunks = new Array(chunks).fill(undefined);
    this.#seen = new Uint16Array(chunks);
    this.#capacity = new Uint16Array(chunks);
    this.#expected = expected;
  }

  /**
   * Records an arrival: true the first time, false for a duplicate. Only a message that
   * `expected` accepts may be added (the recorder counts any other as a stray): it would fill a
   * chunk's count without being part of it.
   */
  add(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.#count) return false;
    const chunk = Math.floor(seq / SEEN_CHUNK);
    let bits = this.#chunks[chunk];
    if (bits === COMPLETE) return false;
    if (bits === undefined) {
      bits = new Uint32Array(SEEN_CHUNK / 32);
      this.#chunks[chunk] = bits;
      this.#capacity[chunk] = this.#capacityOf(chunk);
    }
    const offset = seq - chunk * SEEN_CHUNK;
    const mask = 1 << (offset & 31);
    const word = offset >>> 5;
    if ((bits[word]! & mask) !== 0) return false;
    bits[word] = bits[word]! | mask;
    this.#seen[chunk] = this.#seen[chunk]! + 1;
    if (this.#seen[chunk]! >= this.#capacity[chunk]!) this.#chunks[chunk] = COMPLETE;
    return true;
  }

  has(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.#count) return false;
    const chunk = Math.floor(seq / SEEN_CHUNK);
    const bits = this.#chunks[chunk];
    // Complete: every message it could receive arrived, and no other can.
    if (bits === COMPLETE) return this.#expected(seq);
    if (bits === undefined) return false;
    const offset = seq - chunk * SEEN_CHUNK;
    return (bits[offset >>> 5]! & (1 << (offset & 31))) !== 0;
  }

  /** Bytes of bitsets held now: what the bound above is about (for tests). */
  get liveBytes(): number {
    let bytes = 0;
    for (const bits of this.#chunks) if (bits instanceof Uint32Array) bytes += bits.byteLength;
    return bytes;
  }

  #capacityOf(chunk: number): number {
    const end = Math.min(this.#count, (chunk + 1) * SEEN_CHUNK);
    let capacity = 0;
    for (let seq = chunk * SEEN_CHUNK; seq < end; seq++) if (this.#expected(seq)) capacity++;
    return capacity;
  }
}
