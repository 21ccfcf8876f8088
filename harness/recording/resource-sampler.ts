import { readFileSync } from 'node:fs';
import type { Results } from '../results/index.ts';
import { schedstatAvailable, threadCpuNs } from './proc-stats.ts';

type ServiceSamples = Results['services'][number];
type Sample = ServiceSamples['samples'][number];

/** Linux reports process CPU time in clock ticks of USER_HZ, which is 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

interface ProcessReading {
  cpuMs: number;
  rssBytes: number;
}

/** CPU time and resident memory of a process from /proc; undefined where there is none. */
export function readProcess(pid: number): ProcessReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5), utime and stime, are 11 and 12 counted from field 3 (state).
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
    if (!Number.isFinite(ticks)) return undefined;
    // Nanoseconds per thread where the kernel keeps them: 10 ms ticks are 1 % of a core per
    // 1 s sample. (A thread that exits takes its time with it; service threads live long.)
    const threads = schedstatAvailable() ? threadCpuNs(pid) : undefined;
    const cpuMs =
      threads === undefined
        ? (ticks * 1000) / TICKS_PER_SECOND
        : [...threads.values()].reduce((sum, ns) => sum + ns, 0) / 1e6;
    return { cpuMs, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

interface Series {
  samples: Sample[];
  last?: { pid: number; cpuMs: number; atMs: number };
}

/**
 * Samples CPU and memory once a second: of this process always, and of the service processes of
 * the topology being watched. [design] In the in-process topology the harness, auth, discovery
 * and every broker share this one process, so there is one series, named to say so; with service
 * processes each service has a series of its own, by name, across the variants of a run (a
 * restarted service starts a new baseline, not a spike).
 */
export class ResourceSampler {
  readonly #selfName: string;
  readonly #intervalMs: number;
  readonly #series = new Map<string, Series>();
  #watched: (() => ReadonlyMap<string, number>) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #startMs = 0;
  #lastCpu = process.cpuUsage();
  #lastMs = 0;

  constructor(selfName: string, intervalMs = 1_000) {
    this.#selfName = selfName;
    this.#intervalMs = intervalMs;
    this.#series.set(selfName, { samples: [] });
  }

  start(): void {
    this.#startMs = performance.now();
    this.#lastMs = this.#startMs;
    this.#lastCpu = process.cpuUsage();
    this.#timer = setInterval(() => this.sample(), this.#intervalMs);
    // Sampling must never keep a finished run alive.
    this.#timer.unref();
  }

  /** Follows these service processes (name → pid) until `unwatch`. */
  watch(processIds: () => ReadonlyMap<string, number>): void {
    this.#watched = processIds;
  }

  unwatch(): void {
    this.#watched = undefined;
    for (const series of this.#series.values()) delete series.last;
  }

  /** Takes one sample now: CPU since the previous one (% of one core) and the resident set. */
  sample(): void {
    const now = performance.now();
    const tMs = Math.round(now - this.#startMs);
    const cpu = process.cpuUsage(this.#lastCpu);
    const elapsedMs = now - this.#lastMs;
    this.#lastCpu = process.cpuUsage();
    this.#lastMs = now;
    if (elapsedMs > 0) {
      this.#series.get(this.#selfName)!.samples.push({
        tMs,
        cpuPercent: percent((cpu.user + cpu.system) / 1000, elapsedMs),
        rssBytes: process.memoryUsage.rss(),
      });
    }
    for (const [name, pid] of this.#watched?.() ?? []) {
      const reading = readProcess(pid);
      if (reading === undefined) continue;
      let series = this.#series.get(name);
      if (series === undefined) {
        series = { samples: [] };
        this.#series.set(name, series);
      }
      const last = series.last;
      if (last !== undefined && last.pid === pid && now > last.atMs) {
        series.samples.push({
          tMs,
          cpuPercent: percent(reading.cpuMs - last.cpuMs, now - last.atMs),
          rssBytes: reading.rssBytes,
        });
      }
      series.last = { pid, cpuMs: reading.cpuMs, atMs: now };
    }
  }

  stop(): ServiceSamples[] {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return [...this.#series].map(([name, series]) => ({ name, samples: [...series.samples] }));
  }
}

/** CPU ms used over elapsed ms, as % of one core with one decimal; never negative. */
function percent(cpuMs: number, elapsedMs: number): number {
  return Math.max(0, Math.round((cpuMs / elapsedMs) * 1000) / 10);
}
