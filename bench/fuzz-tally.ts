/** Examples kept per target: enough to reproduce, not a log. */
const MAX_EXAMPLES = 10;

/** A server error or an anomaly, with the input that caused it. */
export interface FuzzExample {
  what: string;
  input: string;
  answer: string;
}

/** What one target's fuzzing sent and what came back. */
export interface TargetFigures {
  target: string;
  /** Messages and requests sent: WebSocket messages, upgrade attempts, HTTP requests. */
  frames: number;
  seconds: number;
  framesPerSecond: number;
  /** Frames sent, by what the generator made. */
  kinds: Record<string, number>;
  /** Connections the service closed, by `<close code> <reason>`. */
  closes: Record<string, number>;
  /** HTTP answers (and refused upgrades) by status. */
  statuses: Record<string, number>;
  /** HTTP answers 500 and above. */
  serverErrors: number;
  /** What should not happen and is not a crash: a request that hung, a socket never closed. */
  anomalies: number;
  examples: FuzzExample[];
  /** Facts about the run of this target that are not counts of frames. */
  notes: Record<string, string | number>;
}

/** Counts of one target while it runs. */
export class Tally {
  readonly target: string;
  frames = 0;
  serverErrors = 0;
  anomalies = 0;
  readonly #kinds = new Map<string, number>();
  readonly #closes = new Map<string, number>();
  readonly #statuses = new Map<string, number>();
  readonly #examples: FuzzExample[] = [];
  readonly #notes: Record<string, string | number> = {};
  readonly #started = performance.now();

  constructor(target: string) {
    this.target = target;
  }

  sent(kind: string, count = 1): void {
    this.frames += count;
    bump(this.#kinds, kind, count);
  }

  closed(code: number, reason: string): void {
    bump(this.#closes, `${code} ${reason}`.trim(), 1);
  }

  status(status: number, example: () => FuzzExample): void {
    bump(this.#statuses, String(status), 1);
    if (status >= 500) {
      this.serverErrors += 1;
      this.#keep(example());
    }
  }

  note(name: string, value: string | number): void {
    this.#notes[name] = value;
  }

  anomaly(example: FuzzExample): void {
    this.anomalies += 1;
    this.#keep(example);
  }

  #keep(example: FuzzExample): void {
    if (this.#examples.length < MAX_EXAMPLES) this.#examples.push(example);
  }

  figures(): TargetFigures {
    const seconds = (performance.now() - this.#started) / 1000;
    return {
      target: this.target,
      frames: this.frames,
      seconds: round(seconds, 1),
      framesPerSecond: Math.round(this.frames / Math.max(seconds, 1e-3)),
      kinds: sorted(this.#kinds),
      closes: sorted(this.#closes),
      statuses: sorted(this.#statuses),
      serverErrors: this.serverErrors,
      anomalies: this.anomalies,
      examples: [...this.#examples],
      notes: { ...this.#notes },
    };
  }
}

function bump(map: Map<string, number>, key: string, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

function sorted(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A short printable excerpt of an input, for examples. */
export function excerpt(input: string | Uint8Array, max = 200): string {
  const text =
    typeof input === 'string' ? JSON.stringify(input) : `0x${Buffer.from(input).toString('hex')}`;
  return text.length > max ? `${text.slice(0, max)}… (${input.length} long)` : text;
}
