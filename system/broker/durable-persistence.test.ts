import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  collectMessages,
  connectClient,
  endClients,
  killDurableBrokers,
  spawnDurableBroker,
} from './durable-persistence.fixtures.ts';
import { createDurablePersistence, type DurablePersistence } from './durable-persistence.ts';

let dir: string;
let path: string;
let suiteRun: ChildProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqfed-durable-'));
  path = join(dir, 'sessions.sqlite');
});
afterEach(async () => {
  if (suiteRun !== undefined && suiteRun.exitCode === null && suiteRun.signalCode === null) {
    const exited = once(suiteRun, 'exit');
    suiteRun.kill('SIGKILL');
    await exited;
  }
  suiteRun = undefined;
  await endClients();
  await killDurableBrokers();
  rmSync(dir, { recursive: true, force: true });
});

const BROKER_ID = 'durable-broker';

/** Opens the store as a broker with `id` would, runs `use`, and closes it again. */
async function withPersistence<T>(
  use: (persistence: DurablePersistence, broker: { id: string; counter: number }) => Promise<T>,
  broker = { id: BROKER_ID, counter: 0 },
): Promise<T> {
  const persistence = createDurablePersistence({ path });
  try {
    await persistence.setup(broker);
    return await use(persistence, broker);
  } finally {
    await persistence.destroy();
  }
}

async function arrayOf(stream: Readable): Promise<unknown[]> {
  return stream.toArray();
}

function publishPacket(topic: string, payload: string, brokerCounter: number) {
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    dup: false,
    brokerId: BROKER_ID,
    brokerCounter,
  };
}

describe('the durable persistence', () => {
  // About a hundred cases, and the restarting half reopens a file some six hundred times: 4 s
  // idle, 20 s on a loaded two-core machine.
  it('passes the aedes-persistence abstract suite, as is and restarting after every change', async () => {
    const suite = fileURLToPath(
      new URL('./durable-persistence.abstract-suite.ts', import.meta.url),
    );
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', suite], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Killed in afterEach too: a timed-out test never reaches its `finally`.
    suiteRun = child;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      const [code] = (await once(child, 'exit')) as [number | null];
      const count = (name: string) =>
        Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1]);
      expect({ code, fail: count('fail') }, output.slice(-4000)).toEqual({ code: 0, fail: 0 });
      // The suite has about fifty cases, each run twice; all but the two documented ones pass.
      expect(count('pass')).toBeGreaterThanOrEqual(90);
      expect(count('skipped')).toBe(2);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 120_000);

  it('lists the subscriptions of persistent sessions before aedes starts', async () => {
    await withPersistence(async (persistence) => {
      await persistence.addSubscriptions({ id: 'a' }, [
        { topic: 'x/#', qos: 1 },
        { topic: 'y', qos: 0 },
      ]);
      await persistence.addSubscriptions({ id: 'b' }, [{ topic: 'z/+', qos: 2 }]);
      await persistence.removeSubscriptions({ id: 'a' }, ['y']);
    });
    const reopened = createDurablePersistence({ path });
    try {
      expect(reopened.persistentSubscriptions()).toEqual([
        { clientId: 'a', topic: 'x/#', qos: 1 },
        { clientId: 'b', topic: 'z/+', qos: 2 },
      ]);
    } finally {
      await reopened.destroy();
    }
  });

  it('moves the broker counter past the counters stored under its id', async () => {
    await withPersistence(async (persistence) => {
      await persistence.outgoingEnqueueCombi([{ clientId: 'a' }], publishPacket('t', 'm', 41));
      await persistence.storeRetained({ ...publishPacket('r', 'm', 40), retain: true });
    });
    await withPersistence(async (_persistence, broker) => {
      expect(broker.counter).toBe(41);
    });
    // Counters of another broker id cannot collide with this broker's packets.
    await withPersistence(
      async (_persistence, broker) => {
        expect(broker.counter).toBe(0);
      },
      { id: 'another-broker', counter: 0 },
    );
  });

  it('stores a message queued for many subscribers once, and drops it with its last entry', async () => {
    const subscribers = Array.from({ length: 50 }, (_, i) => ({ clientId: `c${i}` }));
    const count = (table: string) => {
      const db = new DatabaseSync(path);
      try {
        return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    await withPersistence(async (persistence) => {
      await persistence.outgoingEnqueueCombi(subscribers, publishPacket('t', 'shared', 1));
    });
    expect({ messages: count('message'), entries: count('outgoing') }).toEqual({
      messages: 1,
      entries: 50,
    });
    await withPersistence(async (persistence) => {
      for (const [i, { clientId }] of subscribers.entries()) {
        const [packet] = (await arrayOf(persistence.outgoingStream({ id: clientId }))) as Record<
          string,
          unknown
        >[];
        expect(packet?.payload).toEqual(Buffer.from('shared'));
        await persistence.outgoingUpdate({ id: clientId }, { ...packet, messageId: i + 1 });
        // QoS 2: the PUBREL takes the place of its PUBLISH in the queue.
        if (i % 2 === 0) {
          await persistence.outgoingUpdate({ id: clientId }, { cmd: 'pubrel', messageId: i + 1 });
        }
      }
    });
    await withPersistence(async (persistence) => {
      for (const [i, { clientId }] of subscribers.entries()) {
        expect(await arrayOf(persistence.outgoingStream({ id: clientId }))).toEqual([
          i % 2 === 0
            ? { cmd: 'pubrel', messageId: i + 1 }
            : expect.objectContaining({ messageId: i + 1, payload: Buffer.from('shared') }),
        ]);
        await persistence.outgoingClearMessageId({ id: clientId }, { messageId: i + 1 });
      }
    });
    expect({ messages: count('message'), entries: count('outgoing') }).toEqual({
      messages: 0,
      entries: 0,
    });
  });

  it('hands out a will of the previous run without brokerId, so that aedes publishes it', async () => {
    await withPersistence(async (persistence) => {
      await persistence.putWill({ id: 'gone' }, { topic: 'wills/gone', payload: Buffer.from('x') });
    });
    await withPersistence(async (persistence) => {
      // This broker is alive: aedes passes it among `brokers`, the ones whose wills to keep.
      const wills = await arrayOf(persistence.streamWill({ [BROKER_ID]: Date.now() }));
      expect(wills).toEqual([
        expect.objectContaining({ clientId: 'gone', topic: 'wills/gone', brokerId: undefined }),
      ]);
      // A will given on a CONNECT of this run is this run's, and stays with the live broker.
      await persistence.putWill({ id: 'gone' }, { topic: 'wills/gone', payload: Buffer.from('y') });
      expect(await arrayOf(persistence.streamWill({ [BROKER_ID]: Date.now() }))).toEqual([]);
    });
  });

  it('refuses a second process on the same file with STORE_FAILED', async () => {
    const first = createDurablePersistence({ path });
    try {
      expect(() => createDurablePersistence({ path })).toThrow(
        expect.objectContaining({ code: 'STORE_FAILED' }),
      );
    } finally {
      await first.destroy();
    }
  });

  it('refuses a file written by a newer schema with STORE_FAILED', async () => {
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    expect(() => createDurablePersistence({ path })).toThrow(
      expect.objectContaining({ code: 'STORE_FAILED' }),
    );
  });
});

describe('an aedes broker on the durable persistence, killed with SIGKILL and started again', () => {
  it('gives a persistent subscriber every QoS 1 message queued while it was offline', async () => {
    const count = 200;
    let broker = await spawnDurableBroker({ path });
    const subscriber = await connectClient(broker.url, { clientId: 'sub-1', clean: false });
    await subscriber.client.subscribeAsync('q/#', { qos: 1 });
    await subscriber.client.endAsync();

    // aedes queues a QoS 1 publish for offline sessions before it delivers it to connected
    // clients: once this observer has every message, every message is queued.
    const observer = await connectClient(broker.url, { clientId: 'observer', clean: true });
    await observer.client.subscribeAsync('q/#', { qos: 0 });
    const observed = collectMessages(observer.client);
    const publisher = await connectClient(broker.url, { clientId: 'pub', clean: true });
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        publisher.client.publishAsync(`q/${i % 3}`, `m${i}`, { qos: 1 }),
      ),
    );
    await observed.until(count);

    await broker.kill('SIGKILL');
    broker = await spawnDurableBroker({ path });
    let received: ReturnType<typeof collectMessages> | undefined;
    const back = await connectClient(broker.url, { clientId: 'sub-1', clean: false }, (client) => {
      received = collectMessages(client);
    });
    expect(back.connack.sessionPresent).toBe(true);
    const messages = await received!.until(count);
    expect(messages.map((m) => m.payload)).toEqual(
      Array.from({ length: count }, (_, i) => `m${i}`),
    );

    // A round trip after the PUBACKs (an UNSUBSCRIBE changes nothing here), then the queue on
    // disk is empty.
    await back.client.unsubscribeAsync('barrier');
    await broker.kill('SIGKILL');
    await withPersistence(async (persistence) => {
      expect(await arrayOf(persistence.outgoingStream({ id: 'sub-1' }))).toEqual([]);
      expect(await persistence.subscriptionsByClient({ id: 'sub-1' })).toEqual([
        expect.objectContaining({ topic: 'q/#', qos: 1 }),
      ]);
    });
  });

  it('keeps a retained message', async () => {
    let broker = await spawnDurableBroker({ path });
    const observer = await connectClient(broker.url, { clientId: 'observer', clean: true });
    await observer.client.subscribeAsync('state/#', { qos: 0 });
    const observed = collectMessages(observer.client);
    const publisher = await connectClient(broker.url, { clientId: 'pub', clean: true });
    await publisher.client.publishAsync('state/door', 'open', { qos: 1, retain: true });
    await observed.until(1);

    await broker.kill('SIGKILL');
    broker = await spawnDurableBroker({ path });
    const late = await connectClient(broker.url, { clientId: 'late', clean: true });
    const received = collectMessages(late.client);
    await late.client.subscribeAsync('state/#', { qos: 1 });
    expect(await received.until(1)).toEqual([
      expect.objectContaining({ topic: 'state/door', payload: 'open', retain: true }),
    ]);
  });

  it('delivers again, with the same packet id, a QoS 1 message in flight and not acknowledged', async () => {
    let broker = await spawnDurableBroker({ path });
    const subscriber = await connectClient(broker.url, { clientId: 'slow', clean: false });
    // Never acknowledge: MQTT.js sends the PUBACK once handleMessage calls back.
    subscriber.client.handleMessage = () => undefined;
    await subscriber.client.subscribeAsync('jobs/#', { qos: 1 });
    const first = collectMessages(subscriber.client);
    const publisher = await connectClient(broker.url, { clientId: 'pub', clean: true });
    await publisher.client.publishAsync('jobs/1', 'do it', { qos: 1 });
    const [inFlight] = await first.until(1);

    await broker.kill('SIGKILL');
    broker = await spawnDurableBroker({ path });
    let again: ReturnType<typeof collectMessages> | undefined;
    const back = await connectClient(broker.url, { clientId: 'slow', clean: false }, (client) => {
      again = collectMessages(client);
    });
    expect(back.connack.sessionPresent).toBe(true);
    expect(await again!.until(1)).toEqual([
      expect.objectContaining({
        topic: 'jobs/1',
        payload: 'do it',
        messageId: inFlight!.messageId,
      }),
    ]);
  });

  it('publishes the will of a client that was connected when the broker died', async () => {
    // The will sweep runs every four heartbeats: 0.8 s here, 4 min by default.
    let broker = await spawnDurableBroker({ path, heartbeatIntervalMs: 200 });
    const watcher = await connectClient(broker.url, { clientId: 'watcher', clean: false });
    await watcher.client.subscribeAsync('wills/#', { qos: 1 });
    // aedes stores the will before it sends the CONNACK.
    await connectClient(broker.url, {
      clientId: 'mortal',
      clean: true,
      will: { topic: 'wills/mortal', payload: Buffer.from('gone'), qos: 1, retain: false },
    });

    await broker.kill('SIGKILL');
    broker = await spawnDurableBroker({ path, heartbeatIntervalMs: 200 });
    // Online or offline when the sweep runs, the watcher's session gets the will.
    let received: ReturnType<typeof collectMessages> | undefined;
    await connectClient(broker.url, { clientId: 'watcher', clean: false }, (client) => {
      received = collectMessages(client);
    });
    expect(await received!.until(1)).toEqual([
      expect.objectContaining({ topic: 'wills/mortal', payload: 'gone' }),
    ]);

    // Published once: aedes deletes it once it is published.
    await broker.printed(/^will deleted mortal$/);
    await broker.kill('SIGKILL');
    await withPersistence(async (persistence) => {
      expect(await persistence.getWill({ id: 'mortal' })).toBeUndefined();
    });
  });
});
