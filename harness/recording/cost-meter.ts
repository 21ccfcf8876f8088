import type { Cost } from '../results/index.ts';
import { IN_PROCESS_SERVICE } from '../topology/in-process.ts';
import type { StartedTopology } from '../topology/topology.ts';
import { readProcStat, schedstatAvailable, TICKS_PER_SECOND, threadCpuNs } from './proc-stats.ts';

/**
 * The harness's own name in results where services run apart from it: it then holds the
 * simulated clients only (the load generator), whose cost is shown beside the services'.
 */
export const HARNESS_SERVICE = 'harness (clients only)';

/** The harness's name in results for a topology: in-process it holds every service. */
export function harnessLabel(topology: Pick<StartedTopology, 'kind'>): string {
  return topology.kind === 'in-process' ? IN_PROCESS_SERVICE : HARNESS_SERVICE;
}

/** A sampled service's name in results: brokers are named by the scenario (`a`), so say what they are. */
export function serviceLabel(topology: Pick<StartedTopology, 'brokers'>, name: string): string {
  return topology.brokers.includes(name) ? `broker ${name}` : name;
}

/**
 * What the meter reads of a topology: its kind and brokers (for the names in results), its
 * processes and its link counters. A benchmark may meter processes of its own beside them.
 */
export type MeteredTopology = Pick<
  StartedTopology,
  'kind' | 'brokers' | 'processIds' | 'linkBytes'
>;

export interface CostMeterOptions {
  /**
   * How often processes and link counters are read during the window, so a service that ends
   * mid-window (a fault) still counts up to its last reading; 0 reads only at begin and end.
   */
  intervalMs?: number;
  /** How often the brokers' link counters are scraped; they cost the brokers a little. */
  linkIntervalMs?: number;
}

/** CPU of one process since the window began, thread by thread, in ns. */
interface ProcessCpu {
  /** Thread id → [ns at first sight (0 if it began in the window), ns last read]. */
  threads: Map<number, [number, number]>;
}

/**
 * Measures what a window of a run cost: CPU time of every service and of the harness, and bytes
 * sent over peer links, each per delivered message. [design] These move far less with machine
 * noise than delay does, so they compare runs where delay cannot.
 *
 * CPU is read thread by thread from /proc/<pid>/task/<tid>/schedstat in nanoseconds (ticks of
 * /proc/<pid>/stat, 10 ms, where the kernel keeps no schedstat); the harness's own from
 * `process.cpuUsage()` (µs). In-process, everything shares the harness process and is reported
 * under one name. A process or thread first seen after `begin` started in the window and counts
 * from zero; one that ends counts up to its last reading. Link bytes follow the brokers' own
 * counters; a counter that goes down belongs to a restarted broker and counts from zero.
 */
export class CostMeter {
  readonly #topology: MeteredTopology;
  readonly #harness: string;
  readonly #cpuStart: NodeJS.CpuUsage;
  readonly #processes = new Map<string, { label: string; cpu: ProcessCpu }>();
  /** Processes (pid:start) present at `begin`. */
  readonly #present = new Set<string>();
  readonly #precise = schedstatAvailable();
  #linkLast = new Map<string, number>();
  #linkBytes: number | null;
  #linkReading: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** The harness's CPU over the window, fixed by the first `end`. */
  #harnessUs: number | undefined;

  private constructor(topology: MeteredTopology, linkStart: Map<string, number> | null) {
    this.#topology = topology;
    this.#harness = harnessLabel(topology);
    this.#linkBytes = linkStart === null ? null : 0;
    if (linkStart !== null) this.#linkLast = linkStart;
    for (const pid of topology.processIds?.().values() ?? []) {
      const stat = readProcStat(pid);
      if (stat !== undefined) this.#present.add(`${pid}:${stat.startTicks}`);
    }
    this.#readProcesses(true);
    this.#cpuStart = process.cpuUsage();
  }

  /** Starts measuring now: call at the start of the measured window (after warm-up). */
  static async begin(
    topology: MeteredTopology,
    options: CostMeterOptions = {},
  ): Promise<CostMeter> {
    const linkStart = await readLinks(topology);
    const meter = new CostMeter(topology, linkStart);
    const every = (ms: number, read: () => void) => {
      if (ms <= 0) return;
      const timer = setInterval(read, ms);
      // Metering must never keep a finished run alive.
      timer.unref();
      meter.#timers.push(timer);
    };
    every(options.intervalMs ?? 1_000, () => meter.#readProcesses(false));
    if (linkStart !== null) {
      every(options.linkIntervalMs ?? 2_000, () => {
        meter.#linkReading ??= meter.#readLinks().finally(() => {
          meter.#linkReading = undefined;
        });
      });
    }
    return meter;
  }

  /**
   * Ends the window: `delivered` is the messages subscribers received in it. Figures are per
   * delivered message; with none delivered there is nothing to divide by, and they are empty.
   */
  async end(delivered: number): Promise<Cost> {
    if (this.#harnessUs === undefined) {
      const harnessCpu = process.cpuUsage(this.#cpuStart);
      this.#harnessUs = harnessCpu.user + harnessCpu.system;
      for (const timer of this.#timers) clearInterval(timer);
      this.#readProcesses(false);
      await this.#linkReading;
      await this.#readLinks();
    }
    const cpuUs = new Map<string, number>([[this.#harness, this.#harnessUs]]);
    for (const { label, cpu } of this.#processes.values()) {
      let ns = 0;
      for (const [first, last] of cpu.threads.values()) ns += Math.max(0, last - first);
      cpuUs.set(label, (cpuUs.get(label) ?? 0) + ns / 1_000);
    }
    if (delivered <= 0) return { delivered: 0, cpuUsPerMessage: {}, linkBytesPerMessage: null };
    const per = (total: number) => Math.round((total / delivered) * 100) / 100;
    return {
      delivered,
      cpuUsPerMessage: Object.fromEntries([...cpuUs].map(([label, us]) => [label, per(us)])),
      linkBytesPerMessage: this.#linkBytes === null ? null : per(this.#linkBytes),
    };
  }

  /** Reads every service process's CPU; at `begin` the readings are each one's baseline. */
  #readProcesses(atBegin: boolean): void {
    for (const [name, pid] of this.#topology.processIds?.() ?? []) {
      const stat = readProcStat(pid);
      if (stat === undefined) continue;
      const id = `${pid}:${stat.startTicks}`;
      let known = this.#processes.get(id);
      const fresh = known === undefined;
      if (known === undefined) {
        known = { label: serviceLabel(this.#topology, name), cpu: { threads: new Map() } };
        this.#processes.set(id, known);
      }
      // A process running at `begin` counts from its first reading; one that started in the
      // window, and a thread that started in it, count from zero.
      const fromFirstReading = fresh && (atBegin || this.#present.has(id));
      const threads = this.#precise
        ? threadCpuNs(pid)
        : // The whole process as one "thread": its ticks cover exited threads too.
          new Map([[pid, ((stat.utime + stat.stime) * 1e9) / TICKS_PER_SECOND]]);
      for (const [tid, ns] of threads ?? []) {
        const seen = known.cpu.threads.get(tid);
        if (seen === undefined) known.cpu.threads.set(tid, [fromFirstReading ? ns : 0, ns]);
        else seen[1] = ns;
      }
    }
  }

  async #readLinks(): Promise<void> {
    if (this.#linkBytes === null) return;
    const now = await readLinks(this.#topology);
    if (now === null) return;
    for (const [broker, bytes] of now) {
      const last = this.#linkLast.get(broker);
      // A broker not seen before started in the window; one whose count fell was restarted.
      this.#linkBytes += last === undefined || bytes < last ? bytes : bytes - last;
      this.#linkLast.set(broker, bytes);
    }
  }
}

/** The brokers' link byte counters, or null where the topology keeps none or cannot be read. */
async function readLinks(topology: MeteredTopology): Promise<Map<string, number> | null> {
  if (topology.linkBytes === undefined) return null;
  try {
    return new Map(await topology.linkBytes());
  } catch {
    return null;
  }
}

/**
 * The cost of several windows together (a variant's repetitions): totals over totals, so each
 * window weighs by what it delivered. A service or link figure missing from a window is left out
 * of that window's weight, not counted as zero.
 */
export function mergeCosts(costs: readonly Cost[]): Cost {
  const delivered = costs.reduce((sum, cost) => sum + cost.delivered, 0);
  const cpu = new Map<string, { us: number; delivered: number }>();
  let linkBytes = 0;
  let linkDelivered = 0;
  for (const cost of costs) {
    for (const [label, perMessage] of Object.entries(cost.cpuUsPerMessage)) {
      const sum = cpu.get(label) ?? { us: 0, delivered: 0 };
      sum.us += perMessage * cost.delivered;
      sum.delivered += cost.delivered;
      cpu.set(label, sum);
    }
    if (cost.linkBytesPerMessage !== null) {
      linkBytes += cost.linkBytesPerMessage * cost.delivered;
      linkDelivered += cost.delivered;
    }
  }
  const ratio = (total: number, over: number) => Math.round((total / over) * 100) / 100;
  return {
    delivered,
    cpuUsPerMessage: Object.fromEntries(
      [...cpu]
        .filter(([, sum]) => sum.delivered > 0)
        .map(([label, sum]) => [label, ratio(sum.us, sum.delivered)]),
    ),
    linkBytesPerMessage: linkDelivered > 0 ? ratio(linkBytes, linkDelivered) : null,
  };
}
