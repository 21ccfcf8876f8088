/**
 * The Docker Swarm API as the swarm topology uses it: nodes, services, their tasks, secrets.
 * [design] Through the engine's HTTP API (dockerode, which testcontainers already brings), not
 * the `docker` CLI: answers are structured, and the harness needs no CLI on its machine.
 */
import { TestbedError } from '../testbed-error.ts';
import { containerKit } from './container-engine.ts';
import { LABEL_RUN } from './container-ownership.ts';

export type Dockerode = import('testcontainers').ContainerRuntimeClient['container']['dockerode'];
export type ServiceSpec = import('dockerode').ServiceSpec;

/** How often a task's state is read while waiting for it. */
const POLL_MS = 250;

export interface SwarmNode {
  id: string;
  hostname: string;
  /** The address other nodes (and the harness) reach it at. */
  addr: string;
  labels: Readonly<Record<string, string>>;
  /** The node whose engine the harness talks to: its containers are visible here. */
  self: boolean;
}

/** The engine, if it is a swarm manager; otherwise a clear error saying how to make one. */
export async function swarmEngine(): Promise<{ docker: Dockerode; selfId: string }> {
  const { getContainerRuntimeClient } = await containerKit();
  const client = await getContainerRuntimeClient().catch((error: Error) => {
    throw new TestbedError('CONTAINER_ENGINE_UNAVAILABLE', error.message, error);
  });
  const docker = client.container.dockerode;
  const info = await docker.info();
  const swarm = info.Swarm ?? {};
  if (swarm.LocalNodeState !== 'active' || swarm.ControlAvailable !== true) {
    throw new TestbedError(
      'SWARM_UNAVAILABLE',
      `the Docker engine is ${swarm.LocalNodeState === 'active' ? 'a swarm worker, not a manager' : 'not part of a swarm'}: ` +
        'run `docker swarm init` (or run the harness on a manager node)',
    );
  }
  return { docker, selfId: String(swarm.NodeID) };
}

/** The swarm's nodes that are up and accept tasks. */
export async function readyNodes(docker: Dockerode, selfId: string): Promise<SwarmNode[]> {
  const nodes = await docker.listNodes();
  return nodes
    .filter((node) => node.Status?.State === 'ready' && node.Spec?.Availability === 'active')
    .map((node) => ({
      id: String(node.ID),
      hostname: String(node.Description?.Hostname ?? node.ID),
      addr: String(node.Status?.Addr ?? ''),
      labels: { ...(node.Spec?.Labels ?? {}) },
      self: node.ID === selfId,
    }));
}

/** One running task of a service: where it runs and what it published. */
export interface TaskInfo {
  nodeId: string;
  containerId: string;
  /** The container's main process on its node. */
  pid: number;
  /** Target port → the port published on the task's node (host mode). */
  published: ReadonlyMap<number, number>;
}

/**
 * Waits until the service's task runs (a task with a health check runs only once healthy). A
 * task that exits is restarted by the swarm (its restart policy): that is waited out, and its
 * error named if time runs out. A task the node rejects (an image it lacks, a port taken) fails
 * at once, naming the node.
 */
export async function waitForTask(
  docker: Dockerode,
  serviceId: string,
  name: string,
  timeoutMs: number,
  /** Only tasks created from then on (ms since the epoch, the manager's clock): a restart's. */
  since = 0,
): Promise<TaskInfo> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no task yet';
  for (;;) {
    const tasks = await docker.listTasks({ filters: { service: [serviceId] } });
    // Newest first; tasks of earlier runs of the service (before a restart) do not count.
    const current = tasks
      .filter((task) => Date.parse(String(task.CreatedAt)) >= since)
      .sort((a, b) => String(b.CreatedAt).localeCompare(String(a.CreatedAt)));
    for (const task of current) {
      const status = task.Status ?? {};
      if (
        task.DesiredState === 'running' &&
        status.State === 'running' &&
        status.ContainerStatus?.ContainerID !== undefined
      ) {
        const published = new Map<number, number>();
        for (const port of status.PortStatus?.Ports ?? []) {
          published.set(Number(port.TargetPort), Number(port.PublishedPort));
        }
        return {
          nodeId: String(task.NodeID),
          containerId: String(status.ContainerStatus.ContainerID),
          pid: Number(status.ContainerStatus.PID ?? 0),
          published,
        };
      }
      if (status.State === 'rejected') {
        throw new TestbedError(
          'SERVICE_START_FAILED',
          `${name} could not start on node ${task.NodeID ?? '?'}: ${status.Err ?? 'rejected'}`,
        );
      }
    }
    const latest = current[0]?.Status;
    if (latest !== undefined) {
      last = `${latest.State}${latest.Err === undefined ? '' : `: ${latest.Err}`}`;
    }
    if (Date.now() > deadline) {
      throw new TestbedError(
        'SERVICE_START_FAILED',
        `${name} did not run within ${timeoutMs / 1000} s (its last task: ${last})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Waits until no task of the service runs any more (after scaling it to 0). */
export async function waitForNoTask(docker: Dockerode, serviceId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await docker.listTasks({ filters: { service: [serviceId] } });
    if (!tasks.some((task) => ['running', 'starting', 'preparing'].includes(task.Status?.State))) {
      return;
    }
    if (Date.now() > deadline) {
      throw new TestbedError('SERVICE_NOT_RUNNING', `service ${serviceId} did not stop in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Sets a service's replicas (1 or 0), and the signal that stops its task: SIGKILL makes the
 * scale-down a crash (no goodbye to discovery), on whatever node the task runs. [design] The
 * swarm API has no "kill this task"; scaling with a kill signal is the swarm operation that is.
 */
export async function scaleService(
  docker: Dockerode,
  serviceId: string,
  replicas: 0 | 1,
  stopSignal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  const service = docker.getService(serviceId);
  const info = await service.inspect();
  const spec = info.Spec;
  spec.Mode = { Replicated: { Replicas: replicas } };
  spec.TaskTemplate.ContainerSpec.StopSignal = stopSignal;
  await service.update({ version: info.Version.Index, ...spec });
}

/** A secret of the run: a file in the services that mount it, never in env or arguments. */
export async function createSecret(
  docker: Dockerode,
  name: string,
  value: string,
  labels: Record<string, string>,
): Promise<{ SecretID: string; SecretName: string }> {
  const created = await docker.createSecret({
    Name: name,
    Labels: labels,
    Data: Buffer.from(value).toString('base64'),
  });
  return { SecretID: String(created.id ?? created.ID), SecretName: name };
}

/** Removes services and waits until their tasks are gone (bounded), so secrets can go after. */
export async function removeServices(docker: Dockerode, ids: readonly string[]): Promise<void> {
  await Promise.allSettled(ids.map((id) => docker.getService(id).remove()));
  await Promise.allSettled(ids.map((id) => waitForNoTask(docker, id, 30_000)));
}

/**
 * Waits (bounded) until no container of the run is left on this node: a removed service's tasks
 * stop in the background, and the network can go only once they have.
 */
export async function containersGone(docker: Dockerode, runId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_RUN}=${runId}`] },
    });
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The address tasks reach the harness at (client hosts dial it): this node's swarm address when
 * other nodes can reach it, else (a one-node swarm advertised on loopback) the node's gateway
 * bridge, which every task on this node reaches.
 */
export async function harnessAddressForTasks(docker: Dockerode, nodes: readonly SwarmNode[]) {
  const self = nodes.find((node) => node.self);
  if (self !== undefined && self.addr !== '' && !self.addr.startsWith('127.')) return self.addr;
  const bridge = await docker.getNetwork('docker_gwbridge').inspect();
  const gateway = bridge?.IPAM?.Config?.[0]?.Gateway;
  if (typeof gateway !== 'string') {
    throw new TestbedError('SWARM_UNAVAILABLE', 'cannot find the address tasks reach this node at');
  }
  return gateway;
}
