/**
 * Per-origin sequence bookkeeping on the receiving side of peer links. Each forwarded PUBLISH
 * carries its origin broker id and a per-origin sequence number; this decides whether a message
 * is new (deliver it) or a duplicate (drop it), and counts gaps (messages the origin numbered but
 * that never arrived). The origin's HELLO epoch changes on every restart, and numbering restarts
 * with it, so a new epoch resets what is known of that origin. [design]
 *
 * A message older than the highest sequence seen is treated as a duplicate. Over one WebSocket
 * (one TCP stream) messages cannot overtake each other, so "older" only happens on a replay; the
 * end-to-end QoS 1 outbox of a later release keeps this rule, because it resends in order.
 */
export interface SequenceVerdict {
  fresh: boolean;
  /** Messages skipped between the previous and this one (0 when contiguous or duplicate). */
  gap: number;
}

interface OriginState {
  epoch: number;
  highest: number;
}

export class SequenceTracker {
  readonly #origins = new Map<string, OriginState>();
  #duplicates = 0;
  #gaps = 0;

  /** Records the origin's epoch from its HELLO; a changed epoch forgets its numbering. */
  startEpoch(origin: string, epoch: number): void {
    const state = this.#origins.get(origin);
    if (state === undefined || state.epoch !== epoch) {
      this.#origins.set(origin, { epoch, highest: -1 });
    }
  }

  accept(origin: string, seq: number): SequenceVerdict {
    let state = this.#origins.get(origin);
    if (state === undefined) {
      // No HELLO seen from this origin (it reached us through a new link): start from here.
      state = { epoch: -1, highest: seq - 1 };
      this.#origins.set(origin, state);
    }
    if (seq <= state.highest) {
      this.#duplicates++;
      return { fresh: false, gap: 0 };
    }
    const gap = state.highest < 0 ? 0 : seq - state.highest - 1;
    state.highest = seq;
    this.#gaps += gap;
    return { fresh: true, gap };
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  get gaps(): number {
    return this.#gaps;
  }
}
