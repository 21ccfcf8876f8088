import { TestbedError } from '../testbed-error.ts';
import type { Dockerode, SwarmNode } from './swarm-engine.ts';

/**
 * The node label that puts a scenario host on a node: `docker node update --label-add
 * mqfed.host=vm-a NODE` puts every service of host `vm-a` (its brokers, its client host, its
 * link proxies) there.
 */
export const HOST_LABEL = 'mqfed.host';

export interface PlacementPlan {
  /** The placement constraints of a service on scenario host `host` (none: anywhere). */
  constraints(host: string | undefined): string[];
  /** The nodes any task may land on: those the labels name, or every node. */
  readonly candidates: readonly SwarmNode[];
  /** One sentence on how hosts map to nodes, for the run's notes. */
  readonly summary: string;
}

/**
 * Maps a scenario's hosts to swarm nodes by the `mqfed.host` label. [design] A host no node is
 * labelled for lands wherever the swarm puts it, and the run says so (and records where each
 * service ran): a run on an unlabelled swarm still works, and a placement is never guessed.
 */
export function planPlacement(
  nodes: readonly SwarmNode[],
  hosts: readonly string[],
): PlacementPlan {
  if (nodes.length === 0) {
    throw new TestbedError('SWARM_UNAVAILABLE', 'the swarm has no node that is ready and active');
  }
  const labelled = new Map<string, SwarmNode[]>();
  for (const host of hosts) {
    const found = nodes.filter((node) => node.labels[HOST_LABEL] === host);
    if (found.length > 0) labelled.set(host, found);
  }
  const free = hosts.filter((host) => !labelled.has(host));
  const candidates =
    free.length > 0 || hosts.length === 0
      ? [...nodes]
      : [...new Set([...labelled.values()].flat())];
  const parts = [
    ...[...labelled].map(
      ([host, found]) => `${host} on ${found.map((node) => node.hostname).join(' or ')}`,
    ),
    ...(free.length > 0 || hosts.length === 0
      ? [
          `${free.length > 0 ? free.join(', ') : 'every service'} anywhere on the ${nodes.length} ` +
            `node${nodes.length === 1 ? '' : 's'} (no node labelled ${HOST_LABEL}=<host>)`,
        ]
      : []),
  ];
  return {
    constraints: (host) =>
      host !== undefined && labelled.has(host) ? [`node.labels.${HOST_LABEL}==${host}`] : [],
    candidates,
    summary: `placement: ${parts.join('; ')}`,
  };
}

/**
 * Checks that every candidate node has the image, before anything of the run starts. The
 * manager's own engine is asked directly; another node is asked the only way the swarm API
 * allows, by running a one-off task of the image there (`node -e 0`), which that node rejects
 * with "No such image" when it lacks it. [design] Images are never pulled here (a registry may be
 * missing), so a node without the image would otherwise fail its tasks mid-start.
 */
export async function checkImageOnNodes(
  docker: Dockerode,
  image: string,
  nodes: readonly SwarmNode[],
  labels: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      if (node.self) {
        await docker
          .getImage(image)
          .inspect()
          .catch(() => {
            throw missing(image, node);
          });
        return;
      }
      const service = await docker.createService({
        Name: `mqfed-preflight-${node.id.slice(0, 12)}-${Date.now().toString(36)}`,
        Labels: labels,
        TaskTemplate: {
          ContainerSpec: { Image: image, Command: ['node', '-e', '0'] },
          Placement: { Constraints: [`node.id==${node.id}`] },
          RestartPolicy: { Condition: 'none' },
        },
        Mode: { Replicated: { Replicas: 1 } },
      });
      const id = String((service as { id?: string }).id);
      try {
        const outcome = await oneOffOutcome(docker, id, timeoutMs);
        if (outcome !== 'complete') throw missing(image, node, new Error(outcome));
      } finally {
        await docker
          .getService(id)
          .remove()
          .catch(() => undefined);
      }
    }),
  );
}

/** How a one-off task ended: `complete`, or its state and error. */
async function oneOffOutcome(docker: Dockerode, serviceId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await docker.listTasks({ filters: { service: [serviceId] } });
    for (const task of tasks) {
      const state = String(task.Status?.State);
      if (state === 'complete') return state;
      if (['failed', 'rejected', 'orphaned'].includes(state)) {
        return `${state}: ${task.Status?.Err ?? 'no reason given'}`;
      }
    }
    if (Date.now() > deadline) return `no outcome within ${timeoutMs / 1000} s`;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function missing(image: string, node: SwarmNode, cause?: unknown): TestbedError {
  return new TestbedError(
    'IMAGE_MISSING_ON_NODE',
    `node ${node.hostname} (${node.addr}) does not have the image ${image}: ` +
      `copy it there (docker save ${image} | ssh ${node.hostname} docker load) or push it to a ` +
      'registry the nodes can pull from (docs/containers.md)',
    cause,
  );
}
