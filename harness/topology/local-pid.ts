import { readFileSync } from 'node:fs';

/**
 * The container's main process, if this process can see it (the engine runs on this machine), so
 * that its CPU and memory are read from /proc like any service process's. Checked once, when the
 * container starts.
 */
export function localPid(containerId: string, pid: number): number | undefined {
  try {
    return pid > 0 && readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId)
      ? pid
      : undefined;
  } catch {
    return undefined;
  }
}
