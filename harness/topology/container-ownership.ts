import { hostname } from 'node:os';
import type { ContainerRuntimeClient } from 'testcontainers';

/** Labels on every container, network and volume a container topology creates. */
export const LABEL_RUN = 'mqfed.run';
/** `<host name>/<pid>` of the harness process that owns them. */
export const LABEL_OWNER = 'mqfed.owner';

export function ownerLabel(pid = process.pid): string {
  return `${hostname()}/${pid}`;
}

/** The labels of a run's resources; `pid` is the owning harness process (this one). */
export function runLabels(runId: string, pid = process.pid): Record<string, string> {
  return { [LABEL_RUN]: runId, [LABEL_OWNER]: ownerLabel(pid) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a resource's owner is a harness process of this machine that no longer runs. */
export function orphaned(labels: Record<string, string> | undefined): boolean {
  const [host, pid] = (labels?.[LABEL_OWNER] ?? '').split('/');
  return host === hostname() && pid !== undefined && /^\d+$/.test(pid) && !isAlive(Number(pid));
}

/**
 * Removes the containers, networks and volumes of runs whose harness process died without cleaning up
 * (SIGKILL, a power cut): the job testcontainers' reaper container does where it can be pulled.
 * [design] Only resources owned by a dead process of this very machine are touched, so runs of
 * other harnesses (other users, other machines on the same engine) are left alone.
 */
export async function removeOrphans(client: ContainerRuntimeClient): Promise<number> {
  const docker = client.container.dockerode;
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [LABEL_OWNER] },
  });
  const dead = containers.filter((info) => orphaned(info.Labels));
  await Promise.allSettled(
    dead.map((info) => docker.getContainer(info.Id).remove({ force: true, v: true })),
  );
  const networks = await docker.listNetworks({ filters: { label: [LABEL_OWNER] } });
  await Promise.allSettled(
    networks
      .filter((info) => orphaned(info.Labels))
      .map((info) => docker.getNetwork(info.Id).remove()),
  );
  // The brokers' data volumes, once the containers that mounted them are gone.
  const { Volumes: volumes } = await docker.listVolumes({ filters: { label: [LABEL_OWNER] } });
  await Promise.allSettled(
    (volumes ?? [])
      .filter((info) => orphaned(info.Labels ?? undefined))
      .map((info) => docker.getVolume(info.Name).remove()),
  );
  return dead.length;
}
