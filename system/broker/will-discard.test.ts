import { join } from 'node:path';
import type { Aedes, Client } from 'aedes';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../auth/index.ts';
import { tempDir } from '../common/testing.ts';
import {
  connectClient,
  learnsInterest,
  startTestFederation,
  type TestClient,
} from './broker.fixtures.ts';
import { createDurablePersistence, type DurablePersistence } from './durable-persistence.ts';
import { loopbackUrl, registerClient } from './mqtt-client.fixtures.ts';
import { startMqttServer } from './mqtt-server.ts';
import { discardWill } from './will-discard.ts';

const BROKER_ID = 'one';

/** One aedes broker on the durable store in `dir`, as the broker service runs it. */
async function startOne(dir: string) {
  const persistence: DurablePersistence = createDurablePersistence({
    path: join(dir, 'mqtt-sessions.sqlite'),
  });
  const server = await startMqttServer({
    id: BROKER_ID,
    host: '127.0.0.1',
    port: 0,
    hooks: { persistence },
  });
  return {
    server,
    persistence,
    async [Symbol.asyncDispose]() {
      await server.close();
      await persistence.destroy();
    },
  };
}

/** The broker's client object for `clientId`, once it is registered. */
function clientOf(aedes: Aedes, clientId: string): Client {
  const client = (aedes as unknown as { clients: Record<string, Client> }).clients[clientId];
  if (client === undefined) throw new Error(`no client ${clientId}`);
  return client;
}

/** Resolves when the broker has let the connection of `clientId` go. */
function gone(aedes: Aedes, clientId: string): Promise<unknown> {
  return new Promise((resolve) => {
    const listener = (client: Client) => {
      if (client.id !== clientId) return;
      aedes.off('clientDisconnect', listener);
      resolve(client);
    };
    aedes.on('clientDisconnect', listener);
  });
}

const willTopics = (client: TestClient) =>
  client.received.filter((m) => m.topic.startsWith('wills/')).map((m) => m.topic);

describe('discardWill, for a connection the broker ends while its client lives on', () => {
  it('publishes no will when the connection is then destroyed, and leaves none in the store for a restart', async () => {
    await using dir = await tempDir('mqfed-will-discard-');
    {
      await using one = await startOne(dir.path);
      const { aedes, mqttUrl } = one.server;
      await using watcher = await connectClient(mqttUrl);
      await watcher.subscribe('wills/#', 1);
      await watcher.subscribe('marker', 1);
      const will = (topic: string) => ({ topic, payload: Buffer.from('gone'), qos: 1 as const });

      // A control: the same steps without discardWill publish the will.
      const control = await connectClient(mqttUrl, {
        clientId: 'control',
        will: { ...will('wills/control'), retain: false },
      });
      control.mqtt.stream.destroy();
      await watcher.receivedCount(1);
      expect(willTopics(watcher)).toEqual(['wills/control']);
      await control[Symbol.asyncDispose]();

      const mover = await connectClient(mqttUrl, {
        clientId: 'mover',
        will: { ...will('wills/mover'), retain: true },
      });
      expect(await one.persistence.getWill({ id: 'mover' })).toBeDefined();
      expect(await discardWill(clientOf(aedes, 'mover'))).toBe(true);
      expect(await one.persistence.getWill({ id: 'mover' })).toBeUndefined();
      const left = gone(aedes, 'mover');
      mover.mqtt.stream.destroy();
      await left;
      await mover[Symbol.asyncDispose]();
      // aedes publishes a will before it lets the client go: a marker now comes after any.
      await watcher.publish('marker', 'after', 1);
      await watcher.receivedCount(2);
      expect(willTopics(watcher)).toEqual(['wills/control']);
      // Nothing retained either.
      await using late = await connectClient(mqttUrl);
      await late.subscribe('wills/#', 1);
      await late.subscribe('marker', 1);
      await late.publish('marker', 'late', 1);
      await late.receivedCount(1);
      expect(willTopics(late)).toEqual([]);
      // A connection without a will has none to discard.
      await using _plain = await connectClient(mqttUrl, { clientId: 'plain' });
      expect(await discardWill(clientOf(aedes, 'plain'))).toBe(false);
    }
    // The broker restarts on its store: no will of `mover` is left to publish.
    await using again = await startOne(dir.path);
    expect(await again.persistence.getWill({ id: 'mover' })).toBeUndefined();
    const restored = [];
    for await (const will of again.persistence.streamWill({ [BROKER_ID]: Date.now() })) {
      restored.push(will);
    }
    expect(restored).toEqual([]);
  });

  it('leaves the stored will alone when a newer connection holds the client id', async () => {
    // (A takeover on one broker cannot show it: aedes 1.2 itself deletes the newer
    // connection's stored will when it closes the older one.)
    const deleted: string[] = [];
    const newer = { id: 'twin' };
    const older = {
      id: 'twin',
      will: { topic: 'wills/older' },
      _will: null,
      broker: {
        id: BROKER_ID,
        clients: { twin: newer },
        persistence: { delWill: async (c: { id: string }) => void deleted.push(c.id) },
      },
    };
    expect(await discardWill(older as unknown as Client)).toBe(true);
    expect(older.will).toBeNull();
    expect(deleted).toEqual([]);
    older.broker.clients.twin = older as never;
    await discardWill(older as unknown as Client);
    expect(deleted).toEqual(['twin']);
  });
});

describe('a client cut off by a revocation', () => {
  it('has its will published nowhere', async () => {
    await using federation = await startTestFederation({ brokers: ['other'] });
    const other = federation.broker('other');
    // Listens on 0.0.0.0: clients must authenticate.
    const open = await federation.startBroker('open', { host: '0.0.0.0' });
    const doomed = await registerClient(federation, 'doomed', { pub: ['wills/#'], sub: [] });
    const keeper = await registerClient(federation, 'keeper', { pub: ['wills/#'], sub: [] });
    await using remote = await connectClient(other.mqttUrl);
    const learned = learnsInterest(open, 'other', 'wills/#');
    await remote.subscribe('wills/#', 1);
    await learned;
    const url = loopbackUrl(open);

    const client = await mqtt.connectAsync(url, {
      clientId: 'doomed',
      username: 'doomed',
      password: doomed.secret,
      reconnectPeriod: 0,
      will: { topic: 'wills/doomed', payload: Buffer.from('bye'), qos: 1, retain: true },
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await createAuthClient({ url: federation.auth.url }).revokeService(
      federation.auth.adminCredential,
      'doomed',
    );
    await closed;
    await client.endAsync(true);
    // Another client's publish on the same broker afterwards: what came before it came first.
    await using marker = await connectClient(url, {
      clientId: 'keeper',
      username: 'keeper',
      password: keeper.secret,
    });
    await marker.publish('wills/marker', 'after', 1);
    await remote.receivedCount(1);
    expect(remote.received.map((m) => m.topic)).toEqual(['wills/marker']);
  });
});
