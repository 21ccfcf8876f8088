/**
 * Progress on stderr, so stdout carries only the report. On a terminal one line updates in place;
 * elsewhere (CI logs, a pipe) only the whole lines written with `log` appear, not hundreds of
 * updates.
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
