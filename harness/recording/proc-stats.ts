import { readdirSync, readFileSync } from 'node:fs';

/**
 * Small readers of Linux's /proc, shared by the noise monitor, the cost meter and the resource
 * sampler. Every reader answers undefined (or nothing) where /proc or the process is gone: a
 * process may exit between listing and reading, and other platforms have no /proc at all.
 */

/** Linux reports CPU times in /proc in USER_HZ ticks, 100 a second on every mainstream build. */
export const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat that the recorders need; CPU times in ticks. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Ticks after boot when the process started: with the pid, names one process for good. */
  startTicks: number;
  /** User and system time of all its threads, alive or exited. */
  utime: number;
  stime: number;
  /** User and system time of its children that exited and were waited for. */
  cutime: number;
  cstime: number;
}

/** Parses /proc/<pid>/stat; undefined where the process is gone or there is no /proc. */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseProcStat(text: string): ProcStat | undefined {
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // Field 3 of proc(5) (state) is index 0 here, so field n is index n − 3.
  const fields = text.slice(close + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  const stat = {
    pid,
    ppid: at(4),
    utime: at(14),
    stime: at(15),
    cutime: at(16),
    cstime: at(17),
    startTicks: at(22),
  };
  return Object.values(stat).every(Number.isFinite) ? stat : undefined;
}

/** Every process this one can see, by pid; empty where there is no /proc. */
export function listProcesses(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return all;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined) all.set(stat.pid, stat);
  }
  return all;
}

/** `root` and every process below it in `all`; empty when `root` is not in `all`. */
export function subtree(all: ReadonlyMap<number, ProcStat>, root: number): ProcStat[] {
  if (!all.has(root)) return [];
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of all.values()) {
    const siblings = children.get(ppid);
    if (siblings === undefined) children.set(ppid, [pid]);
    else siblings.push(pid);
  }
  const found: ProcStat[] = [];
  const queue = [root];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const stat = all.get(pid);
    if (stat !== undefined) found.push(stat);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/**
 * Nanoseconds each thread of a process has run, by thread id, from
 * /proc/<pid>/task/<tid>/schedstat (its first field). [design] Per thread because
 * /proc/<pid>/schedstat counts the main thread only, which misses V8's and libuv's helper
 * threads; and nanoseconds because /proc/<pid>/stat's 10 ms ticks are too coarse for a run of a
 * few seconds. Undefined where the process is gone or the kernel keeps no such figure.
 */
export function threadCpuNs(pid: number): Map<number, number> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const threads = new Map<number, number>();
  for (const tid of tids) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      if (Number.isFinite(ns)) threads.set(Number(tid), ns);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return threads.size === 0 ? undefined : threads;
}

let schedstatWorks: boolean | undefined;

/**
 * Whether the kernel keeps per-thread run times: without schedstats or delay accounting it
 * prints zeros (`0 0 0`). Checked once on this process, which has certainly run.
 */
export function schedstatAvailable(): boolean {
  schedstatWorks ??= [...(threadCpuNs(process.pid)?.values() ?? [])].some((ns) => ns > 0);
  return schedstatWorks;
}

/** Whole-machine CPU time from the first line of /proc/stat, in ticks. */
export interface MachineCpu {
  /** Every state together (guest time is already inside user and nice). */
  total: number;
  /** Running something: user, nice, system, irq and softirq; not idle, iowait or steal. */
  busy: number;
  /** Taken by the hypervisor for other guests while this one wanted to run. */
  steal: number;
}

export function readMachineCpu(): MachineCpu | undefined {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseMachineCpu(text: string): MachineCpu | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    line.trim().split(/\s+/).slice(1).map(Number);
  const all = [user, nice, system, idle, iowait, irq, softirq, steal];
  if (!all.every(Number.isFinite)) return undefined;
  return {
    total: all.reduce((a, b) => a + b, 0),
    busy: user + nice + system + irq + softirq,
    steal,
  };
}

/** The CPUs a process may run on (its affinity), from /proc/<pid>/status; undefined without /proc. */
export function allowedCpus(pid: number = process.pid): number[] | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    return list === undefined ? undefined : parseCpuList(list);
  } catch {
    return undefined;
  }
}

/** `0-2,5` → [0, 1, 2, 5]. */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [from, to = from] = part.split('-').map(Number);
    if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to))
      continue;
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** [0, 1, 2, 5] → `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
