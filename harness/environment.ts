import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { MosquittoBinary } from './baselines/mosquitto-binary.ts';
import type { Results } from './results/index.ts';
import type { TopologyKind } from './topology/topology.ts';
import { CLOCK_DESCRIPTION } from './workload/payload.ts';

/** The commit the run was made from, or null outside a git checkout (or without git). */
export function gitCommit(cwd = process.cwd()): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    });
    const commit = out.trim();
    return /^[0-9a-f]{40,64}$/.test(commit) ? commit : null;
  } catch {
    return null;
  }
}

/** The machine in one line for a report's header: Node, cores, platform, and Mosquitto if one ran. */
export function machineLine(env: Results['environment']): string {
  const mosquitto = env.mosquitto === undefined ? '' : `, Mosquitto ${env.mosquitto.version}`;
  return `node ${env.node}, ${env.cpus} × ${env.cpuModel}, ${env.platform} ${env.arch}${mosquitto}`;
}

/** The machine and method of a run, so a reader can judge whether two runs compare. */
export function describeEnvironment(
  topology: TopologyKind,
  impairment: Results['environment']['impairment'] = 'none',
  mosquitto?: MosquittoBinary,
): Results['environment'] {
  const cores = cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    topology,
    impairment,
    clock: CLOCK_DESCRIPTION,
    ...(mosquitto === undefined
      ? {}
      : { mosquitto: { path: mosquitto.path, version: mosquitto.version } }),
  };
}
