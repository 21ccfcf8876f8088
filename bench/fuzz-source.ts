import fc from 'fast-check';
import { seededRandom } from '../system/common/index.ts';

/** Values fast-check draws per refill of one arbitrary's buffer. */
const BATCH = 256;

/**
 * The randomness of one fuzzing lane: cheap choices and random bytes from a seeded generator,
 * structured values from fast-check arbitraries drawn in seeded batches. [design] One source per
 * lane (connection or request loop), so what a lane sends depends on the seed and the lane only,
 * not on how the lanes interleave: a failure names the seed that replays its inputs.
 */
export class FuzzSource {
  readonly #next: () => number;
  readonly #buffers = new Map<fc.Arbitrary<unknown>, unknown[]>();

  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  /** A number in [0, 1). */
  unit(): number {
    return this.#next();
  }

  /** An integer in [0, below). */
  int(below: number): number {
    return Math.floor(this.#next() * below);
  }

  chance(probability: number): boolean {
    return this.#next() < probability;
  }

  pick<T>(choices: readonly T[]): T {
    return choices[this.int(choices.length)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let at = this.#next() * total;
    for (const [weight, value] of choices) {
      at -= weight;
      if (at < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** A value of `arbitrary`, from a buffer refilled by fast-check with a seed drawn here. */
  draw<T>(arbitrary: fc.Arbitrary<T>): T {
    let buffer = this.#buffers.get(arbitrary) as T[] | undefined;
    if (buffer === undefined || buffer.length === 0) {
      buffer = fc.sample(arbitrary, { seed: this.int(2 ** 31), numRuns: BATCH });
      this.#buffers.set(arbitrary, buffer);
    }
    return buffer.pop()!;
  }

  /** Bytes changed by a few edits: set, flip a bit, cut, insert or delete a byte. */
  mutate(input: Uint8Array): Buffer {
    let bytes = Buffer.from(input);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const at = this.int(bytes.length + 1);
      const kind = this.int(5);
      if (kind === 0 && at < bytes.length) bytes[at] = this.int(256);
      else if (kind === 1 && at < bytes.length) bytes[at]! ^= 1 << this.int(8);
      else if (kind === 2) bytes = bytes.subarray(0, at);
      else if (kind === 3)
        bytes = Buffer.concat([bytes.subarray(0, at), this.bytes(1), bytes.subarray(at)]);
      else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    }
    return bytes;
  }
}

/** Seeds of the lanes of one target, derived from the run's seed. */
export function laneSeed(runSeed: number, target: string, lane: number): number {
  let hash = runSeed >>> 0;
  for (const char of `${target}/${lane}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}
