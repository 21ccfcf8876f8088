/**
 * How many frames a target may still send, shared by its lanes, with a callback per frame taken
 * for the progress line.
 */
export class Budget {
  #left: number;
  readonly #onTake: (count: number) => void;

  constructor(frames: number, onTake: (count: number) => void = () => {}) {
    this.#left = frames;
    this.#onTake = onTake;
  }

  get left(): number {
    return this.#left;
  }

  /** Takes `count` frames; false when the budget is spent. */
  take(count: number): boolean {
    if (this.#left < count) return false;
    this.#left -= count;
    this.#onTake(count);
    return true;
  }
}
