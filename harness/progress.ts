/**
 * Progress on stderr, so stdout carries only the result. On a terminal one line updates in place
 * (a bar); elsewhere (CI logs, pipes) only whole lines appear, at most one per variant phase, not
 * hundreds of updates.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #live: boolean;
  #showing = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#live = stream.isTTY === true;
  }

  /** Replaces the current progress line (terminal only). */
  update(text: string): void {
    if (!this.#live) return;
    const width = this.#stream.columns ?? 100;
    this.#stream.write(`\r\x1b[K${text.slice(0, width - 1)}`);
    this.#showing = true;
  }

  /** A line that stays. */
  log(line: string): void {
    this.clear();
    this.#stream.write(`${line}\n`);
  }

  clear(): void {
    if (!this.#showing) return;
    this.#stream.write('\r\x1b[K');
    this.#showing = false;
  }
}

/** `[#####.....] 50%`: a fixed-width bar for a fraction between 0 and 1. */
export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}
