import { cpus, loadavg } from 'node:os';
import type { Noise } from '../results/index.ts';
import {
  listProcesses,
  type MachineCpu,
  type ProcStat,
  readMachineCpu,
  subtree,
} from './proc-stats.ts';

/**
 * A 1-minute load average of half the CPUs before the run means other work was already queued
 * for about half the machine: the run starts against it, and its delays carry the scheduler's
 * waits for that work. [design]
 */
export const BUSY_LOAD_PER_CPU = 0.5;
/**
 * Other processes taking a tenth of all CPUs during the run is when their share starts to show
 * in the tail of a delay distribution on a small machine (a 2-core machine loses a fifth of a
 * core). [design]
 */
export const BUSY_OTHER_CPU_PERCENT = 10;
/**
 * Steal is time the hypervisor gave to other guests while this one wanted to run; a few percent
 * already means pauses of whole time slices, which land in the delay tail. [design]
 */
export const STEAL_PERCENT = 2;

export interface NoiseMonitorOptions {
  /**
   * Processes that belong to the run besides the harness and its descendants: the topology's
   * service pids (e.g. `() => started.processIds?.().values() ?? []`). Read at every sample, so
   * services that restart are followed. Their descendants count too.
   */
  ownPids?: () => Iterable<number>;
  /** The harness process; default this one. */
  harnessPid?: number;
  intervalMs?: number;
}

/** One process tree of the run, followed from its first sight. */
interface Root {
  /** Its CPU (ticks, with its waited-for children) when first seen, or 0 if it began during the run. */
  base: number;
  last: number;
}

/**
 * Watches how busy the machine is around a run, so that a figure from a busy machine is disclosed
 * as such [design]: the load average before and during the run, the CPU stolen by a hypervisor,
 * and the CPU used by processes other than the run's own, all from /proc. The run's own are the
 * harness with everything below it, and the service processes the topology names (containers'
 * processes are not below the harness). Where there is no /proc, it says so and reports zeros.
 */
export class NoiseMonitor {
  readonly #ownPids: () => Iterable<number>;
  readonly #harnessPid: number;
  readonly #intervalMs: number;
  readonly #roots = new Map<string, Root>();
  #timer: NodeJS.Timeout | undefined;
  #loadBefore = 0;
  #loadMax = 0;
  #firstMachine: MachineCpu | undefined;
  #lastMachine: MachineCpu | undefined;
  /** Processes (pid:start) alive at `start`: a root not among them began during the run. */
  #aliveAtStart = new Set<string>();
  #running = false;

  constructor(options: NoiseMonitorOptions = {}) {
    this.#ownPids = options.ownPids ?? (() => []);
    this.#harnessPid = options.harnessPid ?? process.pid;
    this.#intervalMs = options.intervalMs ?? 1_000;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loadBefore = loadavg()[0] ?? 0;
    this.#loadMax = this.#loadBefore;
    this.#firstMachine = readMachineCpu();
    this.#lastMachine = this.#firstMachine;
    if (this.#firstMachine !== undefined) {
      const all = listProcesses();
      this.#aliveAtStart = new Set([...all.values()].map(key));
      this.#sampleProcesses(all);
    }
    this.#timer = setInterval(() => this.sample(), this.#intervalMs);
    // Watching must never keep a finished run alive.
    this.#timer.unref();
  }

  /** Takes one reading now (the timer takes one every interval). */
  sample(): void {
    if (!this.#running) return;
    this.#loadMax = Math.max(this.#loadMax, loadavg()[0] ?? 0);
    if (this.#firstMachine === undefined) return;
    this.#lastMachine = readMachineCpu() ?? this.#lastMachine;
    this.#sampleProcesses(listProcesses());
  }

  /** Ends watching and says how noisy the run was; `pinning` is passed through to the result. */
  stop(pinning: string | null = null): Noise {
    this.sample();
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#running = false;
    const cpuCount = cpus().length || 1;
    const warnings: string[] = [];
    if (this.#loadBefore >= BUSY_LOAD_PER_CPU * cpuCount) {
      warnings.push(
        `the machine was busy before the run: 1-minute load average ${this.#loadBefore.toFixed(2)} on ${cpuCount} CPUs`,
      );
    }
    let stealPercent = 0;
    let otherCpuPercent = 0;
    const first = this.#firstMachine;
    const last = this.#lastMachine;
    if (first === undefined || last === undefined) {
      warnings.push(`noise not measured on ${process.platform}`);
    } else {
      const total = last.total - first.total;
      if (total > 0) {
        const own = [...this.#roots.values()].reduce(
          (sum, root) => sum + Math.max(0, root.last - root.base),
          0,
        );
        stealPercent = round(((last.steal - first.steal) / total) * 100);
        otherCpuPercent = round(((last.busy - first.busy - own) / total) * 100);
      }
      if (otherCpuPercent >= BUSY_OTHER_CPU_PERCENT) {
        warnings.push(
          `other processes used ${otherCpuPercent} % of all CPUs during the run (the run's own not counted)`,
        );
      }
      if (stealPercent >= STEAL_PERCENT) {
        warnings.push(
          `the hypervisor stole ${stealPercent} % of CPU time during the run for other guests`,
        );
      }
    }
    return {
      loadAverageBefore: round2(this.#loadBefore),
      loadAverageMax: round2(this.#loadMax),
      stealPercent,
      otherCpuPercent,
      pinning,
      warnings,
    };
  }

  /**
   * Reads the CPU of each of the run's process trees. [design] A tree's CPU is that of its live
   * processes plus what their exited children left in their parents' cutime/cstime, so a child
   * that ends within the tree keeps counting; the root of a tree is keyed by pid and start time,
   * so a restarted service is a new tree, and the old one keeps what it had used.
   */
  #sampleProcesses(all: ReadonlyMap<number, ProcStat>): void {
    const counted = new Set<number>();
    const roots = [this.#harnessPid, ...this.#ownPids()];
    for (const pid of roots) {
      if (counted.has(pid)) continue;
      const tree = subtree(all, pid);
      const root = tree[0];
      if (root === undefined) continue;
      let cpu = 0;
      for (const stat of tree) {
        if (counted.has(stat.pid)) continue;
        counted.add(stat.pid);
        cpu += stat.utime + stat.stime + stat.cutime + stat.cstime;
      }
      const id = key(root);
      const known = this.#roots.get(id);
      if (known === undefined) {
        this.#roots.set(id, { base: this.#aliveAtStart.has(id) ? cpu : 0, last: cpu });
      } else {
        known.last = cpu;
      }
    }
  }
}

/** One decimal, never negative. */
const round = (n: number) => Math.max(0, Math.round(n * 10) / 10);

const round2 = (n: number) => Math.max(0, Math.round(n * 100) / 100);

const key = (stat: ProcStat) => `${stat.pid}:${stat.startTicks}`;
