import { LABEL_OWNER, LABEL_RUN, orphaned } from './container-ownership.ts';
import { containersGone, type Dockerode, removeServices } from './swarm-engine.ts';

/**
 * Removes the services, secrets and networks of swarm runs whose harness process died without
 * cleaning up, as container-ownership.ts does for containers: only those owned by a dead process
 * of this very machine. Services go first, since a secret or network in use cannot be removed;
 * what is still in use (a task still stopping) is left to the next run.
 */
export async function removeSwarmOrphans(docker: Dockerode): Promise<number> {
  const services = (await docker.listServices({ filters: { label: [LABEL_OWNER] } })).filter(
    (info) => orphaned(info.Spec?.Labels),
  );
  await Promise.allSettled(services.map((info) => docker.getService(info.ID).remove()));
  const secrets = await docker.listSecrets({ filters: { label: [LABEL_OWNER] } });
  await Promise.allSettled(
    secrets
      .filter((info) => orphaned(info.Spec?.Labels))
      .map((info) => docker.getSecret(info.ID).remove()),
  );
  const networks = await docker.listNetworks({ filters: { label: [LABEL_OWNER] } });
  await Promise.allSettled(
    networks
      .filter((info) => info.Driver === 'overlay' && orphaned(info.Labels))
      .map((info) => docker.getNetwork(info.Id).remove()),
  );
  return services.length;
}

/**
 * Removes everything labelled as one run's: services (waiting for their tasks to end), secrets,
 * then its network once no container of the run is left on this node. [design] By label, not
 * by what the run remembers making: a service or secret whose creation was still under way when
 * the run was interrupted is found too.
 */
export async function removeRun(docker: Dockerode, runId: string): Promise<void> {
  const label = { label: [`${LABEL_RUN}=${runId}`] };
  const services = await docker.listServices({ filters: label });
  await removeServices(
    docker,
    services.map((info) => String(info.ID)),
  );
  // Their containers on this node go now rather than after their stop grace: the brokers have
  // already stopped cleanly (closed first), and what is left keeps nothing worth a clean stop.
  const left = await docker.listContainers({ all: true, filters: label });
  await Promise.allSettled(
    left.map((info) => docker.getContainer(info.Id).remove({ force: true, v: true })),
  );
  const secrets = await docker.listSecrets({ filters: label });
  await Promise.allSettled(secrets.map((info) => docker.getSecret(info.ID).remove()));
  // The network goes once the swarm has let go of the tasks' endpoints on it, a few seconds
  // after their containers, and a removal the manager accepted still takes a moment to be
  // carried out: asked again until it is no longer listed. What is still there after half a
  // minute goes with the next run's sweep of orphans.
  await containersGone(docker, runId);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const networks = await docker.listNetworks({ filters: label });
    if (networks.length === 0 || Date.now() > deadline) return;
    await Promise.allSettled(networks.map((info) => docker.getNetwork(info.Id).remove()));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
