import { readFileSync } from 'node:fs';

/** Linux reports process times in USER_HZ ticks, which is 100 per second on every architecture. */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, seconds) a process has used so far, or `undefined` where /proc is not
 * there (not Linux) or the process is gone. The bench's own process is read from Node.
 */
export function cpuSeconds(pid: number): number | undefined {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Measures how busy each process of the bench is over a run, in cores (1 = one core fully busy):
 * the figure that tells whether a limit is the broker's or the bench client's, on a machine with
 * few cores.
 */
export class CpuMeter {
  readonly #pids: ReadonlyMap<string, number>;
  #startMs = 0;
  #start = new Map<string, number>();

  constructor(pids: ReadonlyMap<string, number>) {
    this.#pids = pids;
  }

  start(): void {
    this.#startMs = performance.now();
    this.#start = this.#read();
  }

  /** Cores used per process since `start`. */
  stop(): Record<string, number> {
    const elapsedSeconds = (performance.now() - this.#startMs) / 1000;
    const busy: Record<string, number> = {};
    for (const [name, seconds] of this.#read()) {
      const before = this.#start.get(name);
      if (before === undefined || elapsedSeconds <= 0) continue;
      busy[name] = Math.round(((seconds - before) / elapsedSeconds) * 100) / 100;
    }
    return busy;
  }

  #read(): Map<string, number> {
    const seconds = new Map<string, number>();
    for (const [name, pid] of this.#pids) {
      const value = cpuSeconds(pid);
      if (value !== undefined) seconds.set(name, value);
    }
    return seconds;
  }
}
