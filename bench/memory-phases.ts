import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { requireMosquitto } from '../harness/baselines/mosquitto-binary.ts';
import { startMosquittoBridges } from '../harness/baselines/mosquitto-bridges.ts';
import type { Progress } from '../harness/progress.ts';
import { guardChild } from '../harness/topology/child-guard.ts';
import { freePort } from '../harness/topology/free-port.ts';
import { processesTopology } from '../harness/topology/processes.ts';
import {
  startNodeProcess,
  startServiceProcess,
  wordAfter,
} from '../harness/topology/service-process.ts';
import type { StartedTopology } from '../harness/topology/topology.ts';
import { createAuthClient, createTokenWallet } from '../system/auth/index.ts';
import { createDiscoveryClient } from '../system/discovery/index.ts';
import { holdIdleClients, type IdleClients, shares } from './idle-generators.ts';
import { type Point, perUnitKiB, settledRssKiB, slopeKiB } from './memory-figures.ts';
import { inspectorOption, openInspector, type ServiceInspector } from './service-gc.ts';

const AEDES_FLOOR = fileURLToPath(new URL('./aedes-floor.ts', import.meta.url));

export interface PhaseContext {
  progress: Progress;
  /** Wait after a change before reading, so the service is idle again. */
  settleMs: number;
  /** Readings whose median is taken. */
  reads: number;
}

/** A process whose memory is read: a Node service also through its inspector. */
export interface Probe {
  pid: number;
  inspector?: ServiceInspector;
}

export interface Reading {
  rssKiB: number;
  /** JS heap in use after a forced collection; Node services only. */
  heapKiB: number | undefined;
}

/** Garbage collected (Node services), then the median resident set of a few readings. */
export async function read(ctx: PhaseContext, probe: Probe): Promise<Reading> {
  await probe.inspector?.collect();
  const rssKiB = await settledRssKiB(probe.pid, ctx.reads);
  return { rssKiB, heapKiB: (await probe.inspector?.memory())?.heapUsedKiB };
}

/** One repetition of the idle-client figure on one system. */
export interface IdleRun {
  system: IdleSystem;
  /** Topics the clients subscribe to (one each); 0: connected only. */
  topics: number;
  clients: number;
  refused: number;
  beforeKiB: number;
  /** With the first half of the clients connected. */
  halfKiB: number;
  afterKiB: number;
  /** (after − before) / clients: every cost the clients brought, one-off growth included. */
  averageKiB: number | undefined;
  /**
   * (after − half) / second half: what one more client costs once the broker has grown its
   * buffers and heap for the first ones. [design] The figure quoted: a Node service grows its
   * young generation (tens of MiB, once) at the first burst of connections, which divided by a
   * few thousand clients would read as a cost per client.
   */
  perClientKiB: number | undefined;
  /** JS heap after a forced collection with 0, half and all the clients (mqfed only). */
  heapKiB: (number | undefined)[];
  /** (after − half) / second half of the JS heap, KiB a client. */
  heapPerClientKiB: number | undefined;
}

/**
 * The brokers idle clients are measured on: mqfed's broker service, the plain aedes it embeds
 * (bench/aedes-floor.ts: the floor under it) and Mosquitto.
 */
export type IdleSystem = 'mqfed' | 'aedes' | 'mosquitto';

/** Connects idle clients to a fresh broker, in two halves, and reads what they added. */
export async function idleRun(
  ctx: PhaseContext,
  system: IdleSystem,
  options: { clients: number; generators: number; topics: number; label: string },
): Promise<IdleRun> {
  const started = await startOneBroker(system);
  const held: IdleClients[] = [];
  try {
    await sleep(ctx.settleMs);
    const readings = [await read(ctx, started)];
    const halves = shares(options.clients, 2);
    for (const [i, count] of halves.entries()) {
      const before = held.reduce((sum, batch) => sum + batch.connected, 0);
      held.push(
        await holdIdleClients({
          url: started.url,
          clients: count,
          generators: options.generators,
          topics: options.topics,
          idPrefix: `mem-${randomBytes(3).toString('hex')}-${i}`,
          timeoutMs: 10 * 60_000,
          onProgress: (n) =>
            ctx.progress.update(`${options.label}: ${before + n} of ${options.clients} clients`),
        }),
      );
      await sleep(ctx.settleMs);
      readings.push(await read(ctx, started));
    }
    const [beforeKiB, halfKiB, afterKiB] = readings.map((r) => r.rssKiB) as [
      number,
      number,
      number,
    ];
    const heapKiB = readings.map((r) => r.heapKiB);
    const clients = held.reduce((sum, batch) => sum + batch.connected, 0);
    return {
      system,
      topics: options.topics,
      clients,
      refused: held.reduce((sum, batch) => sum + batch.refused, 0),
      beforeKiB,
      halfKiB,
      afterKiB,
      averageKiB: perUnitKiB(beforeKiB, afterKiB, clients),
      perClientKiB: perUnitKiB(halfKiB, afterKiB, held[1]?.connected ?? 0),
      heapKiB,
      heapPerClientKiB:
        heapKiB[1] === undefined || heapKiB[2] === undefined
          ? undefined
          : perUnitKiB(heapKiB[1], heapKiB[2], held[1]?.connected ?? 0),
    };
  } finally {
    for (const batch of held) await batch.close();
    await started.close();
  }
}

interface OneBroker extends Probe {
  url: string;
  close(): Promise<void>;
}

async function startOneBroker(system: IdleSystem): Promise<OneBroker> {
  if (system === 'mosquitto') {
    const bridges = await startMosquittoBridges({ brokers: ['m'] });
    return {
      url: bridges.endpoints.get('m')!,
      pid: bridges.pids().get('m')!,
      close: () => bridges.close(),
    };
  }
  const { port, nodeOptions } = await inspectorOption();
  if (system === 'aedes') {
    const floor = await startNodeProcess('aedes', [AEDES_FLOOR], { NODE_OPTIONS: nodeOptions });
    try {
      const inspector = await openInspector(floor.pid, port);
      return {
        url: wordAfter(floor, 'aedes'),
        pid: floor.pid,
        inspector,
        close: async () => {
          await inspector.close();
          await floor.stop();
        },
      };
    } catch (error) {
      await floor.stop();
      throw error;
    }
  }
  const topology = await processesTopology({ brokerEnv: { NODE_OPTIONS: nodeOptions } }).start({
    brokers: ['a'],
  });
  try {
    const pid = topology.processIds!().get('a')!;
    const inspector = await openInspector(pid, port);
    return {
      url: topology.endpoint('a').mqttUrl,
      pid,
      inspector,
      close: async () => {
        await inspector.close();
        await topology.close();
      },
    };
  } catch (error) {
    await topology.close();
    throw error;
  }
}

/** Which end of its links the measured broker is. */
export type LinkEnd = 'dialing' | 'accepting';

/** One repetition of the per-link figure at one end, mqfed or Mosquitto. */
export interface LinksRun {
  end: LinkEnd;
  /** (links, KiB) at each step, 0 links first. */
  points: Point[];
  /** (links, JS heap KiB after a forced collection) at each step; mqfed only. */
  heapPoints: Point[];
  /** One more link's JS heap, KiB (mqfed only). */
  heapPerLinkKiB: number | undefined;
  /** What one more link costs: the slope over the steps from 1 link on. */
  perLinkKiB: number | undefined;
  /** What the first link cost beyond that: code loaded and state made once. */
  firstLinkKiB: number | undefined;
}

/** A Node service's run at one end from its readings at each step (`x`: links). */
export function linksRunOf(end: LinkEnd, readings: readonly (Reading & { x: number })[]): LinksRun {
  const points = readings.map(({ x, rssKiB }) => ({ x, y: rssKiB }));
  const heapPoints = readings.map(({ x, heapKiB }) => ({ x, y: heapKiB ?? 0 }));
  return {
    end,
    points,
    ...linkCosts(points),
    heapPoints,
    heapPerLinkKiB: linkCosts(heapPoints).perLinkKiB,
  };
}

/** The cost per link and the one-off cost of the first, from readings at 0, 1, 2, … links. */
export function linkCosts(points: readonly Point[]): Pick<LinksRun, 'perLinkKiB' | 'firstLinkKiB'> {
  const perLinkKiB = slopeKiB(points.filter((p) => p.x >= 1));
  const zero = points.find((p) => p.x === 0);
  const one = points.find((p) => p.x === 1);
  const firstLinkKiB =
    zero === undefined || one === undefined || perLinkKiB === undefined
      ? undefined
      : Math.round((one.y - zero.y - perLinkKiB) * 100) / 100;
  return { perLinkKiB, firstLinkKiB };
}

/**
 * mqfed's links at one end: a hub broker and `steps.at(-1)` leaves. Dialing: each leaf declares
 * a topic space of its own and one client on the hub subscribes to the leaves' one step at a
 * time, so the hub dials one more link per leaf. Accepting: the hub declares one and a client on
 * each new leaf subscribes to it, so each leaf dials the hub. Each step waits for the hub's
 * `mqfed_broker_links{state="open"}`, then reads the hub.
 * [design] With `warm` > 0, as many other leaves are linked first and dropped again (their links
 * close when idle) before the 0-link reading. Without that, the slope is mostly V8 compiling and
 * collecting feedback for the link-setup paths as they run more often (docs/benchmarks.md), a
 * one-off cost a service that has opened links before no longer pays. The warm-up leaves are
 * not the measured ones, so whatever a hub keeps of a peer after its link closed cannot make a
 * measured link look cheaper: it is in the 0-link reading, and every measured peer is new.
 */
export async function mqfedLinksRun(
  ctx: PhaseContext,
  end: LinkEnd,
  steps: readonly number[],
  warm = 0,
): Promise<LinksRun> {
  const k = Math.max(...steps);
  const leaves = Array.from({ length: k }, (_, i) => `l${i + 1}`);
  const warmLeaves = Array.from({ length: warm }, (_, i) => `w${i + 1}`);
  ctx.progress.update(`links (${end}): starting a hub and ${k + warm} leaves`);
  const declare = (name: string) =>
    (end === 'dialing') === (name !== 'hub') ? ['--declare', `mem/${name}/#`] : [];
  const { port, nodeOptions } = await inspectorOption();
  const topology = await processesTopology({
    brokerArgs: declare,
    brokerEnv: { NODE_OPTIONS: nodeOptions },
  }).start({ brokers: ['hub', ...warmLeaves, ...leaves] });
  const hub: Probe = { pid: topology.processIds!().get('hub')! };
  const clients: mqtt.MqttClient[] = [];
  const client = async (broker: string) => {
    const connected = await mqtt.connectAsync(topology.endpoint(broker).mqttUrl, {
      clientId: `mem-links-${broker}-${process.pid}`,
      reconnectPeriod: 0,
    });
    clients.push(connected);
    return connected;
  };
  const hubClient = end === 'dialing' ? await client('hub') : undefined;
  /** Makes the hub link to `added`, one way or the other: a hub client, or one client each. */
  const link = async (added: readonly string[]) => {
    if (hubClient !== undefined) {
      await hubClient.subscribeAsync(
        added.map((leaf) => `mem/${leaf}/#`),
        { qos: 0 },
      );
    } else {
      for (const leaf of added) await (await client(leaf)).subscribeAsync('mem/hub/#', { qos: 0 });
    }
  };
  try {
    hub.inspector = await openInspector(hub.pid, port);
    if (warm > 0) {
      await link(warmLeaves);
      ctx.progress.update(`links (${end}): warming up with ${warm} links`);
      await waitForLinks(topology, 'hub', (n) => n.open === warm);
      if (hubClient !== undefined) {
        await hubClient.unsubscribeAsync(warmLeaves.map((leaf) => `mem/${leaf}/#`));
      } else {
        const warmClients = clients.splice(0);
        await Promise.all(warmClients.map((c) => c.unsubscribeAsync('mem/hub/#')));
        await Promise.allSettled(warmClients.map((c) => c.endAsync()));
      }
      ctx.progress.update(`links (${end}): waiting for the warm-up links to close`);
      await waitForLinks(topology, 'hub', (n) => n.connecting + n.open + n.idle === 0);
    }
    await sleep(ctx.settleMs);
    const readings = [{ x: 0, ...(await read(ctx, hub)) }];
    let linked = 0;
    for (const step of steps.filter((s) => s > 0)) {
      await link(leaves.slice(linked, step));
      linked = step;
      ctx.progress.update(`links (${end}): waiting for ${step} open links at the hub`);
      await waitForLinks(topology, 'hub', (n) => n.open === step);
      await sleep(ctx.settleMs);
      readings.push({ x: step, ...(await read(ctx, hub)) });
    }
    return linksRunOf(end, readings);
  } finally {
    await hub.inspector?.close();
    await Promise.allSettled(clients.map((c) => c.endAsync()));
    await topology.close();
  }
}

/** A broker's links by state, from `mqfed_broker_links`. */
export type LinkCounts = Record<'connecting' | 'open' | 'idle', number>;

/** Polls the broker's `/metrics` until its `mqfed_broker_links` counts satisfy `done`. */
async function waitForLinks(
  topology: StartedTopology,
  broker: string,
  done: (counts: LinkCounts) => boolean,
): Promise<void> {
  const url = new URL('/metrics', topology.endpoint(broker).httpUrl!).toString();
  const deadline = Date.now() + 120_000;
  let counts: LinkCounts | undefined;
  while (Date.now() < deadline) {
    counts = linkCounts(await (await fetch(url)).text());
    if (done(counts)) return;
    await sleep(200);
  }
  throw new Error(`${broker}'s links did not settle in 120 s: ${JSON.stringify(counts)}`);
}

/** `mqfed_broker_links` by state, from a broker's Prometheus text; 0 for a state absent. */
export function linkCounts(metricsText: string): LinkCounts {
  const count = (state: string) => {
    const match = new RegExp(
      `^mqfed_broker_links\\{(?:[^}]*,)?state="${state}"(?:,[^}]*)?\\} (\\d+)$`,
      'm',
    ).exec(metricsText);
    return match === null ? 0 : Number(match[1]);
  };
  return { connecting: count('connecting'), open: count('open'), idle: count('idle') };
}

/**
 * Mosquitto's bridges at one end. Accepting: a hub and `steps.at(-1)` spokes bridged to it (the
 * baseline's star), one spoke more at each step. Dialing: `steps.at(-1)` lone brokers, and one
 * broker started with as many `connection` sections as the step says. Each step waits until
 * every bridge is an established TCP connection, then reads the hub or the dialer.
 */
export async function mosquittoLinksRun(
  ctx: PhaseContext,
  end: LinkEnd,
  steps: readonly number[],
): Promise<LinksRun> {
  const k = Math.max(...steps);
  const points: Point[] = [];
  if (end === 'accepting') {
    for (const step of steps) {
      ctx.progress.update(`bridges (accepting): a Mosquitto hub with ${step} spokes`);
      const spokes = Array.from({ length: step }, (_, i) => `s${i + 1}`);
      const star = await startMosquittoBridges({ brokers: ['hub', ...spokes] });
      try {
        await waitForEstablished([Number(new URL(star.endpoints.get('hub')!).port)], step);
        await sleep(ctx.settleMs);
        points.push({ x: step, y: await settledRssKiB(star.pids().get('hub')!, ctx.reads) });
      } finally {
        await star.close();
      }
    }
    return { end, points, ...linkCosts(points), heapPoints: [], heapPerLinkKiB: undefined };
  }
  // Lone brokers, each started alone: a star of them would add bridges of their own.
  const leaves = await Promise.all(
    Array.from({ length: k }, (_, i) => startMosquittoBridges({ brokers: [`l${i + 1}`] })),
  );
  try {
    const ports = leaves.map((leaf) => Number(new URL([...leaf.endpoints.values()][0]!).port));
    for (const step of steps) {
      ctx.progress.update(`bridges (dialing): a Mosquitto with ${step} bridges`);
      const dialer = await startMosquittoDialer(ports.slice(0, step));
      try {
        await waitForEstablished(ports, step);
        await sleep(ctx.settleMs);
        points.push({ x: step, y: await settledRssKiB(dialer.pid, ctx.reads) });
      } finally {
        await dialer.close();
      }
    }
  } finally {
    await Promise.allSettled(leaves.map((leaf) => leaf.close()));
  }
  return { end, points, ...linkCosts(points), heapPoints: [], heapPerLinkKiB: undefined };
}

/** A Mosquitto whose config bridges it (all topics, both ways) to each of `ports` on loopback. */
async function startMosquittoDialer(
  ports: readonly number[],
): Promise<{ pid: number; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mqfed-memory-mosquitto-'));
  const config = join(dir, 'dialer.conf');
  const bridges = ports.flatMap((port, i) => [
    `connection bridge-${i}`,
    `address 127.0.0.1:${port}`,
    `remote_clientid dialer-${process.pid}-${i}`,
    'topic # both 0',
    'try_private true',
    'cleansession true',
    'notifications false',
  ]);
  const listen = await freePort('127.0.0.1');
  await writeFile(
    config,
    `${[`listener ${listen} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ...bridges].join('\n')}\n`,
  );
  const child = spawn((await requireMosquitto()).path, ['-c', config], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  guardChild(child, { exitsWithStdin: false });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (child.pid === undefined) {
    await close();
    throw new Error('mosquitto did not start');
  }
  return { pid: child.pid, close };
}

export async function waitForEstablished(ports: readonly number[], count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const counts = await Promise.all(ports.map((port) => establishedTo(port)));
    if (counts.reduce((a, b) => a + b, 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`not all ${count} bridges connected in 60 s`);
    await sleep(200);
  }
}

/** Established TCP connections whose local port is `port` (IPv4 loopback), from /proc/net/tcp. */
async function establishedTo(port: number): Promise<number> {
  return countEstablished(await readFile('/proc/net/tcp', 'utf8'), port);
}

/** Rows of a /proc/net/tcp text in state ESTABLISHED (01) whose local port is `port`. */
export function countEstablished(procNetTcp: string, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return procNetTcp
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '01').length;
}

/** One repetition of the per-topic figure at discovery. */
export interface TopicsRun {
  brokers: number;
  topicsPerBroker: number;
  /** (thousands of topics advertised, discovery KiB), from leases without topics onwards. */
  points: Point[];
  /** Discovery with no broker registered, and with every lease but no topic yet. */
  emptyKiB: number;
  leasesKiB: number;
  per1000TopicsKiB: number | undefined;
  /** (thousands of topics, JS heap KiB after a forced collection). */
  heapPoints: Point[];
  heapPer1000TopicsKiB: number | undefined;
}

/**
 * Discovery's resident set as brokers advertise topics. [design] Brokers are simulated through
 * discovery's API, as a broker's presence (system/broker/discovery-presence.ts) calls it: a broker
 * advertises at most 1000 topics (its `maxAdvertisedTopics`; above it collapses them into
 * prefixes) and discovery keeps at most 4096 per broker, so 50,000 topics need 50 brokers. All
 * leases are registered first, without topics, so their own cost is not counted per topic.
 */
export async function topicsRun(
  ctx: PhaseContext,
  steps: readonly number[],
  topicsPerBroker: number,
): Promise<TopicsRun> {
  const total = Math.max(...steps);
  const brokers = Math.ceil(total / topicsPerBroker);
  const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-memory-bench-'));
  const adminCredential = randomBytes(24).toString('base64url');
  const services: { stop(): Promise<void> }[] = [];
  const wallets: { close(): void }[] = [];
  let renewTimer: NodeJS.Timeout | undefined;
  try {
    ctx.progress.update('topics: starting auth and discovery');
    const auth = await startServiceProcess(
      'auth',
      ['auth', '--port', '0', '--data-dir', dataDir, '--insecure'],
      { MQFED_ADMIN_CREDENTIAL: adminCredential },
    );
    services.push(auth);
    const authUrl = wordAfter(auth, 'auth');
    const { port, nodeOptions } = await inspectorOption();
    const discovery = await startServiceProcess(
      'discovery',
      ['discovery', '--auth-url', authUrl, '--port', '0', '--insecure'],
      { NODE_OPTIONS: nodeOptions },
    );
    services.unshift(discovery);
    const probe: Probe = {
      pid: discovery.pid,
      inspector: await openInspector(discovery.pid, port),
    };
    services.unshift({ stop: () => probe.inspector!.close() });
    const discoveryUrl = wordAfter(discovery, 'discovery');
    await sleep(ctx.settleMs);
    const emptyKiB = (await read(ctx, probe)).rssKiB;
    const admin = createAuthClient({ url: authUrl });
    const clients: { id: string; client: ReturnType<typeof createDiscoveryClient> }[] = [];
    for (let b = 0; b < brokers; b++) {
      ctx.progress.update(`topics: registering broker ${b + 1} of ${brokers}`);
      const id = `mem-${b}`;
      const { secret } = await admin.registerService(adminCredential, {
        id,
        role: 'broker',
        topics: { pub: ['#'], sub: ['#'] },
      });
      const wallet = createTokenWallet({ authUrl, id, secret });
      wallets.push(wallet);
      const tokens = wallet.source('discovery');
      const client = createDiscoveryClient({ url: discoveryUrl, token: () => tokens.current() });
      await client.register({
        id,
        linkUrl: `ws://127.0.0.1:9/${id}`,
        ttlMs: 5 * 60_000,
        topics: [],
      });
      clients.push({ id, client });
    }
    // Leases renewed well within their 5 minutes while the steps run.
    renewTimer = setInterval(() => {
      for (const { id, client } of clients) void client.renew(id).catch(() => undefined);
    }, 60_000);
    await sleep(ctx.settleMs);
    const leases = await read(ctx, probe);
    const leasesKiB = leases.rssKiB;
    const points: Point[] = [{ x: 0, y: leasesKiB }];
    const heapPoints: Point[] = [{ x: 0, y: leases.heapKiB ?? 0 }];
    let advertised = 0;
    for (const step of steps.filter((s) => s > 0)) {
      while (advertised < step) {
        const b = Math.floor(advertised / topicsPerBroker);
        const count = Math.min(topicsPerBroker, step - advertised);
        const { id, client } = clients[b]!;
        // Topic names as devices publish them: a site, a device, a measurement (~35 characters).
        const add = Array.from(
          { length: count },
          (_, i) => `site-${b}/device-${String(i).padStart(5, '0')}/temperature`,
        );
        await client.advertise(id, { add, remove: [] });
        advertised += count;
        ctx.progress.update(`topics: ${advertised} of ${total} advertised`);
      }
      await sleep(ctx.settleMs);
      const reading = await read(ctx, probe);
      points.push({ x: step / 1000, y: reading.rssKiB });
      heapPoints.push({ x: step / 1000, y: reading.heapKiB ?? 0 });
    }
    return {
      brokers,
      topicsPerBroker,
      points,
      emptyKiB,
      leasesKiB,
      per1000TopicsKiB: slopeKiB(points),
      heapPoints,
      heapPer1000TopicsKiB: slopeKiB(heapPoints),
    };
  } finally {
    clearInterval(renewTimer);
    for (const wallet of wallets) wallet.close();
    for (const service of services) await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
