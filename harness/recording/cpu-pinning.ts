import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { StartedTopology } from '../topology/topology.ts';
import { serviceLabel } from './cost-meter.ts';
import { allowedCpus, formatCpuList, parseCpuList } from './proc-stats.ts';

const run = promisify(execFile);

/** Services that are not brokers and not clients: they answer now and then, so they share. */
const CONTROL_SERVICES = new Set(['auth', 'discovery']);
/** Client hosts generate load, as the harness does: they sit with it. */
const isClientHost = (service: string) => service.startsWith('client host ');
/** How often new service processes (a restarted broker) are looked for, to pin them too. */
const WATCH_MS = 500;

/** Which CPUs the harness and each service (by the topology's name) are confined to. */
export interface PinningPlan {
  harness: readonly number[];
  services: ReadonlyMap<string, readonly number[]>;
}

/**
 * Places the harness and the services on the CPUs the harness may use. [design] The harness
 * (the load generator, with any client hosts) gets the first CPU to itself, so its own work does
 * not queue behind the brokers' and the brokers' not behind it. With two or three CPUs the
 * services share the rest; with four or more auth and discovery share one and each broker gets
 * one of its own, brokers sharing round-robin when there are more brokers than CPUs. Undefined
 * with one CPU: there is nothing to separate.
 */
export function planPinning(
  cpus: readonly number[],
  services: readonly string[],
): PinningPlan | undefined {
  const pool = [...new Set(cpus)].sort((a, b) => a - b);
  const [harnessCpu, ...rest] = pool;
  if (harnessCpu === undefined || rest.length === 0) return undefined;
  const harness = [harnessCpu];
  const placed = new Map<string, readonly number[]>();
  const control = services.filter((name) => CONTROL_SERVICES.has(name));
  const brokers = services.filter((name) => !CONTROL_SERVICES.has(name) && !isClientHost(name));
  for (const name of services.filter(isClientHost)) placed.set(name, harness);
  if (rest.length < 3) {
    for (const name of [...control, ...brokers]) placed.set(name, rest);
    return { harness, services: placed };
  }
  const [controlCpu, ...brokerCpus] = control.length > 0 ? rest : [undefined, ...rest];
  for (const name of control) placed.set(name, [controlCpu!]);
  brokers.forEach((name, index) => {
    placed.set(name, [brokerCpus[index % brokerCpus.length]!]);
  });
  return { harness, services: placed };
}

/** Says a plan in words for the results: `harness on CPU 0; auth, discovery on CPU 1; …`. */
export function describePlan(plan: PinningPlan, label: (service: string) => string): string {
  const groups = new Map<string, string[]>(
    plan.harness.length === 0 ? [] : [[formatCpuList(plan.harness), ['harness']]],
  );
  for (const [service, cpus] of plan.services) {
    const list = formatCpuList(cpus);
    const names = groups.get(list) ?? [];
    names.push(label(service));
    groups.set(list, names);
  }
  return [...groups]
    .map(([list, names]) => `${names.join(', ')} on CPU${list.match(/[-,]/) ? 's' : ''} ${list}`)
    .join('; ');
}

let tasksetFound: Promise<boolean> | undefined;

/** Whether `taskset` (util-linux) can be run here. */
export function tasksetAvailable(): Promise<boolean> {
  tasksetFound ??= run('taskset', ['--version']).then(
    () => true,
    () => false,
  );
  return tasksetFound;
}

/** Confines every thread of a process to `cpus` (`taskset -a -p -c`). */
export async function setAffinity(pid: number, cpus: readonly number[]): Promise<void> {
  // -a: all threads, not just the main one: V8's and libuv's helpers go where it goes.
  await run('taskset', ['-a', '-p', '-c', formatCpuList(cpus), String(pid)]);
}

/** The CPUs a process may run on, as `taskset -p -c` reads them back. */
export async function readAffinity(pid: number): Promise<number[]> {
  const { stdout } = await run('taskset', ['-p', '-c', String(pid)]);
  // "pid 123's current affinity list: 0,1"
  return parseCpuList(stdout.slice(stdout.lastIndexOf(':') + 1));
}

export interface PinningOptions {
  enabled: boolean;
  /** The harness process; default this one. */
  harnessPid?: number;
  /** The CPUs to plan over; default those the harness may use now. */
  cpus?: readonly number[];
}

/** Pinning in force for one started topology; `close` ends it. */
export interface CpuPinning extends AsyncDisposable {
  /** How harness and services were pinned, for `Noise.pinning`; null when not asked for. */
  readonly description: string | null;
  /** Stops following restarted services, and gives the harness back the CPUs it had. */
  close(): Promise<void>;
}

/**
 * Pins the harness and the topology's services to CPUs where the OS allows it [design]: the
 * harness and service processes with `taskset`, containers through the topology (`pinCpus`).
 * In-process there is one process, pinned whole. Where a step cannot be done (no taskset, no
 * permission, no cpuset controller), the run goes on unpinned and the description says so. Call
 * right after the topology starts and `close` before it closes; a service that restarts (a new
 * pid) is pinned again within half a second.
 */
export async function applyPinning(
  topology: StartedTopology,
  options: PinningOptions,
): Promise<CpuPinning> {
  const done = (description: string | null, close = async () => {}): CpuPinning => ({
    description,
    close,
    [Symbol.asyncDispose]: close,
  });
  if (!options.enabled) return done(null);
  const harnessPid = options.harnessPid ?? process.pid;
  const original = allowedCpus(harnessPid);
  const cpus = options.cpus ?? original;
  if (cpus === undefined) return done(`not pinned: no CPU affinity on ${process.platform}`);
  const services = topology.kind === 'in-process' ? [] : [...topology.sampledServices];
  const plan = planPinning(cpus, services);
  if (plan === undefined) return done('not pinned: one CPU only');
  const taskset = await tasksetAvailable();
  const notes: string[] = [];
  const failed = new Set<string>();
  /** The process each service was pinned in (-1: a container, by name). */
  const pinnedPids = new Map<string, number>();
  const label = (name: string) => serviceLabel(topology, name);

  if (taskset) {
    await setAffinity(harnessPid, plan.harness).catch((error: Error) => {
      failed.add('harness');
      notes.push(`harness: ${firstLine(error)}`);
    });
  } else {
    notes.push('taskset not found');
  }
  /** Pins each service whose process is new since the last look. */
  const pinServices = async (report: boolean) => {
    const pids = topology.processIds?.() ?? new Map<string, number>();
    for (const [name, cpusOf] of plan.services) {
      // A container the engine runs elsewhere has no pid here: it is pinned once, by name.
      const pid = pids.get(name) ?? (topology.pinCpus === undefined ? undefined : -1);
      if (pid === undefined || pinnedPids.get(name) === pid) continue;
      if (topology.pinCpus === undefined && !taskset) continue;
      pinnedPids.set(name, pid);
      try {
        // Containers are placed by their engine: a pid inside one may not be ours to change.
        if (topology.pinCpus !== undefined) await topology.pinCpus(name, cpusOf);
        else await setAffinity(pid, cpusOf);
      } catch (error) {
        if (report && !failed.has(name)) notes.push(`${label(name)}: ${firstLine(error)}`);
        failed.add(name);
      }
    }
  };
  await pinServices(true);
  const watcher = setInterval(() => void pinServices(false), WATCH_MS);
  // Watching must never keep a finished run alive.
  watcher.unref();

  const pinnedServices = new Map(
    [...plan.services].filter(([name]) => pinnedPids.has(name) && !failed.has(name)),
  );
  const harnessPinned = taskset && !failed.has('harness');
  const how = [
    ...(harnessPinned || topology.pinCpus === undefined ? ['taskset'] : []),
    ...(topology.pinCpus === undefined ? [] : ['containers by cpuset']),
  ].join('; ');
  let description: string;
  if (!harnessPinned && pinnedServices.size === 0) {
    description = `not pinned: ${notes.join('; ')}`;
  } else {
    const shown: PinningPlan = {
      harness: harnessPinned ? plan.harness : [],
      services: pinnedServices,
    };
    description = `${describePlan(shown, label)} (${how})`;
    if (topology.kind === 'in-process') {
      description = description.replace(/^harness/, 'harness and all services (one process)');
    }
    if (notes.length > 0) description += `; not pinned: ${notes.join('; ')}`;
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(watcher);
      if (harnessPinned && original !== undefined) {
        await setAffinity(harnessPid, original).catch(() => undefined);
      }
    })();
    return closing;
  };
  return done(description, close);
}

function firstLine(error: unknown): string {
  const text =
    error instanceof Error ? ((error as { stderr?: string }).stderr ?? error.message) : '';
  return (text.trim().split('\n')[0] ?? '').trim() || String(error);
}
