import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../common/testing.ts';
import { connectClient, startTestFederation, type TestClient } from './broker.fixtures.ts';
import { createDurablePersistence, SESSION_DB_FILE } from './durable-persistence.ts';
import { registeredBrokerProcess, spawnBroker } from './process.fixtures.ts';

/** Publishes `payload` on `topic` from `url` until `subscriber` got it; fails after 20 s. */
async function publishUntilSeen(
  url: string,
  subscriber: TestClient,
  topic: string,
  payload: string,
) {
  await using probe = await connectClient(url);
  const deadline = Date.now() + 20_000;
  const seen = () => subscriber.received.some((m) => m.payload.toString() === payload);
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`${payload} never reached the subscriber`);
    await probe.publish(topic, payload, 1);
    await subscriber.receivedCount(subscriber.received.length + 1, 500).catch(() => {});
  }
}

describe('a last will kept in the data directory of a broker that was killed', () => {
  it('is published by the restarted broker and reaches a subscriber on another broker, once', async () => {
    await using federation = await startTestFederation({ brokers: ['s'] });
    const s = federation.broker('s');
    await using dataDir = await tempDir('mqfed-will-');
    const processOptions = await registeredBrokerProcess(federation, 'k', [
      '--data-dir',
      dataDir.path,
    ]);
    const first = await spawnBroker(processOptions);
    await using subscriber = await connectClient(s.mqttUrl);
    await subscriber.subscribe('wills/#', 1);
    // The way from k to s works.
    await publishUntilSeen(first.mqttUrl, subscriber, 'wills/probe', 'probe');

    // aedes stores the will before it sends the CONNACK; then the broker dies under the client.
    const mortal = await connectClient(first.mqttUrl, {
      clientId: 'mortal',
      will: { topic: 'wills/mortal', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    expect(await first.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    await mortal[Symbol.asyncDispose]();
    const before = subscriber.received.length;

    // [design] The restarted broker publishes the wills of the connections that died with the
    // previous process once it knows its peers' interest, not at aedes' first will sweep
    // (4 heartbeats, 4 min).
    const started = Date.now();
    await using second = await spawnBroker(processOptions);
    const [will] = (await subscriber.receivedCount(before + 1, 20_000)).slice(before);
    expect(will).toMatchObject({ topic: 'wills/mortal', qos: 1 });
    expect(will?.payload.toString()).toBe('gone');
    expect(Date.now() - started).toBeLessThan(20_000);

    // Once: a marker published after it arrives, and no second copy before it.
    await publishUntilSeen(second.mqttUrl, subscriber, 'wills/probe', 'after');
    expect(subscriber.received.filter((m) => m.topic === 'wills/mortal')).toHaveLength(1);

    // And it is gone from the store: aedes' own sweep, minutes later, has nothing to repeat.
    await second.kill('SIGTERM');
    const persistence = createDurablePersistence({ path: join(dataDir.path, SESSION_DB_FILE) });
    try {
      await persistence.setup({ id: 'k' });
      expect(await persistence.getWill({ id: 'mortal' })).toBeUndefined();
    } finally {
      await persistence.destroy();
    }
  });
});
