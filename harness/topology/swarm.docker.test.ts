import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, MQFED_IMAGE } from '../../docker/index.ts';
import { haveSwarm } from '../../docker/swarm.fixtures.ts';
import { connectsWithin } from './connects-within.fixtures.ts';
import { LABEL_RUN, runLabels } from './container-ownership.ts';
import { swarmTopology } from './swarm.ts';
import { readyNodes, swarmEngine } from './swarm-engine.ts';
import { removeSwarmOrphans } from './swarm-ownership.ts';
import { checkImageOnNodes } from './swarm-placement.ts';
import { firstDelivery, topologyContract } from './topology.contract.ts';

const run = promisify(execFile);

beforeAll(async () => {
  if (haveSwarm) await buildImage();
});

// The same contract as every other kind; link cuts and data directories on this machine are
// what a swarm run does not offer (its brokers keep their data on their nodes' volumes).
topologyContract('swarm', () => swarmTopology(), !haveSwarm, {
  linkCuts: false,
  dataDirs: false,
});

/** `docker <kind> ls` names carrying a run's label. */
async function leftOf(kind: 'service' | 'secret' | 'network', runId: string): Promise<string[]> {
  const { stdout } = await run('docker', [
    kind,
    'ls',
    '--filter',
    `label=${LABEL_RUN}=${runId}`,
    '--format',
    '{{.Name}}',
  ]);
  return stdout.split('\n').filter((line) => line !== '');
}

describe.skipIf(!haveSwarm)('a swarm run’s services, secrets and faults', () => {
  it('keeps secrets out of env and arguments, records placement, survives a kill at the same address, and leaves nothing behind', async () => {
    const topology = await swarmTopology().start({ brokers: ['north', 'south'] });
    let runId = '';
    try {
      const { stdout } = await run('docker', [
        'service',
        'ls',
        '--filter',
        'label=mqfed.service=north',
        '--format',
        '{{.Name}}',
      ]);
      const service = stdout.trim().split('\n').at(-1)!;
      runId = /^mqfed-([0-9a-f]{8})-/.exec(service)![1]!;
      // Every secret is a file in the task; none is in the spec's env or arguments.
      const spec = JSON.parse(
        (await run('docker', ['service', 'inspect', service, '--format', '{{json .Spec}}'])).stdout,
      );
      const container = spec.TaskTemplate.ContainerSpec;
      expect(
        container.Secrets.map((secret: { File: { Name: string } }) => secret.File.Name),
      ).toEqual(['broker-secret']);
      expect(container.Env).toContain('MQFED_BROKER_SECRET_FILE=/run/secrets/broker-secret');
      expect(JSON.stringify([container.Env, container.Args])).not.toMatch(
        /MQFED_BROKER_SECRET=|ADMIN_CREDENTIAL=|--secret /,
      );
      expect(await leftOf('secret', runId)).toEqual(
        expect.arrayContaining([`mqfed-${runId}-admin`, `mqfed-${runId}-secret-north`]),
      );

      const placement = topology.placement?.();
      expect(placement?.summary).toMatch(/anywhere on the \d+ node/);
      expect(Object.keys(placement?.services ?? {})).toEqual(
        expect.arrayContaining(['auth', 'discovery', 'north', 'south']),
      );
      expect(topology.processIds?.().get('north')).toBeGreaterThan(0);

      // A kill scales the service to 0 with SIGKILL; restart brings it back at the same port.
      const url = topology.endpoint('south').mqttUrl;
      expect(await connectsWithin(url, 5_000)).toBe(true);
      await topology.kill?.('south');
      expect(() => topology.endpoint('south')).toThrow(/stopped/);
      expect(await connectsWithin(url, 1_000)).toBe(false);
      await topology.restart('south');
      expect(topology.endpoint('south').mqttUrl).toBe(url);
      expect(await connectsWithin(url, 5_000)).toBe(true);

      // Pause freezes the task's container on this node; resume thaws it.
      await topology.pause?.('south');
      expect(await connectsWithin(url, 1_000)).toBe(false);
      await topology.resume?.('south');
      expect(await connectsWithin(url, 5_000)).toBe(true);
    } finally {
      await topology.close();
    }
    expect(await leftOf('service', runId)).toEqual([]);
    expect(await leftOf('secret', runId)).toEqual([]);
    expect(await leftOf('network', runId)).toEqual([]);
  });

  it('takes a broker off the overlay and back, as a pulled cable: nothing reaches it, then it serves again', async () => {
    await using topology = await swarmTopology().start({ brokers: ['north', 'south'] });
    const url = topology.endpoint('south').mqttUrl;
    expect(await connectsWithin(url, 5_000)).toBe(true);
    await topology.disconnect?.('south');
    // Its port published on this node goes with the network: clients and peers alike are cut.
    expect(await connectsWithin(url, 2_000)).toBe(false);
    await topology.reconnect?.('south');
    expect(topology.endpoint('south').mqttUrl).toBe(url);
    const publisher = await mqtt.connectAsync(topology.endpoint('north').mqttUrl, {
      reconnectPeriod: 0,
    });
    const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      await subscriber.subscribeAsync('overlay/#');
      // Back on the overlay, it is found by name again: north's deliveries reach it.
      expect(await firstDelivery(publisher, subscriber, 'overlay/t')).toBe('probe');
    } finally {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
    }
  });

  it('removes what a dead harness left (services, secrets, networks) and keeps a live one’s', async () => {
    const { docker } = await swarmEngine();
    // A process that ran and ended: its pid names a dead owner on this machine.
    const ended = spawn(process.execPath, ['-e', '0']);
    await once(ended, 'exit');
    const dead = runLabels('deadbeef', ended.pid);
    const alive = runLabels('a1a1a1a1');
    const made: { kind: 'service' | 'secret' | 'network'; id: string }[] = [];
    for (const [labels, name] of [
      [dead, 'mqfed-orphan-dead'],
      [alive, 'mqfed-orphan-alive'],
    ] as const) {
      const secret = await docker.createSecret({ Name: name, Labels: labels, Data: 'eA==' });
      const network = await docker.createNetwork({ Name: name, Driver: 'overlay', Labels: labels });
      const service = await docker.createService({
        Name: name,
        Labels: labels,
        TaskTemplate: { ContainerSpec: { Image: MQFED_IMAGE, Args: ['--help'] } },
        Mode: { Replicated: { Replicas: 0 } },
      });
      made.push(
        { kind: 'secret', id: String(secret.id) },
        { kind: 'network', id: String(network.id) },
        { kind: 'service', id: String((service as { id?: string }).id) },
      );
    }
    try {
      expect(await removeSwarmOrphans(docker)).toBeGreaterThanOrEqual(1);
      for (const kind of ['service', 'secret', 'network'] as const) {
        expect(await leftOf(kind, 'deadbeef')).toEqual([]);
        expect(await leftOf(kind, 'a1a1a1a1')).toEqual(['mqfed-orphan-alive']);
      }
    } finally {
      for (const { kind, id } of made.filter((item) => item.kind === 'service')) {
        await run('docker', [kind, 'rm', id]).catch(() => undefined);
      }
      for (const { kind, id } of made.filter((item) => item.kind !== 'service')) {
        await run('docker', [kind, 'rm', id]).catch(() => undefined);
      }
    }
  });

  it('refuses to start on a node without the image, naming the node', async () => {
    const { docker, selfId } = await swarmEngine();
    // This node, asked as another node would be: by a one-off task of the image.
    const nodes = (await readyNodes(docker, selfId)).map((node) => ({ ...node, self: false }));
    await expect(
      checkImageOnNodes(
        docker,
        'mqfed-no-such-image:0',
        nodes,
        { [LABEL_RUN]: 'preflight' },
        60_000,
      ),
    ).rejects.toMatchObject({
      code: 'IMAGE_MISSING_ON_NODE',
      message: expect.stringContaining(nodes[0]!.hostname),
    });
    await expect(
      checkImageOnNodes(docker, MQFED_IMAGE, nodes, { [LABEL_RUN]: 'preflight' }, 60_000),
    ).resolves.toBeUndefined();
    expect(await leftOf('service', 'preflight')).toEqual([]);
  });
});
