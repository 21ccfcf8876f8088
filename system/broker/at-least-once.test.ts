import { describe, expect, it } from 'vitest';
import { tempDir } from '../common/testing.ts';
import { connectClient, startTestFederation, type TestClient } from './broker.fixtures.ts';
import { registeredBrokerProcess, spawnBroker } from './process.fixtures.ts';
import { relayedFlow, relayTo } from './relay.fixtures.ts';

const numbered = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

/** Waits until `client` received every payload of `expected` at least once; returns all copies. */
async function receivedAll(client: TestClient, expected: string[], timeoutMs = 20_000) {
  const wanted = new Set(expected);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = new Set(client.received.map((m) => m.payload.toString()));
    if ([...wanted].every((payload) => seen.has(payload))) break;
    if (Date.now() > deadline) {
      const missing = expected.filter((payload) => !seen.has(payload));
      throw new Error(`missing ${missing.length} of ${expected.length}: ${missing.slice(0, 10)}`);
    }
    await client.receivedCount(client.received.length + 1, deadline - Date.now()).catch(() => {});
  }
  const all = client.received.map((m) => m.payload.toString()).filter((p) => wanted.has(p));
  const firsts = [...new Set(all)];
  return { firsts, duplicates: all.length - firsts.length };
}

describe('QoS 1 across the federation, at least once', () => {
  it('loses nothing while the link between the brokers is cut again and again mid-stream', async () => {
    await using federation = await startTestFederation({
      brokers: [],
      broker: { reconnectBaseMs: 20, reconnectMaxMs: 200 },
    });
    await using flow = await relayedFlow(federation, 'flow');
    const { toA, toP, subscriber, publisher } = flow;
    const sent = numbered('m', 300);
    const cutAt = new Set([60, 150, 220]);
    for (const [index, payload] of sent.entries()) {
      if (cutAt.has(index)) {
        toA.cut();
        toP.cut();
      }
      await publisher.publish('flow/x', payload, 1);
    }

    const { firsts } = await receivedAll(subscriber, sent);
    // Order per origin is kept: the first copy of each message comes in publish order.
    expect(firsts).toEqual(sent);
    expect(toA.connections() + toP.connections()).toBeGreaterThan(1);
  });

  it('loses nothing when the link drops while discovery and auth are both down', async () => {
    await using federation = await startTestFederation({
      brokers: [],
      broker: { reconnectBaseMs: 20, reconnectMaxMs: 200 },
    });
    await using flow = await relayedFlow(federation, 'calm');
    const { toA, toP, subscriber, publisher } = flow;

    // The control plane goes away; then the link drops, and messages are published meanwhile.
    await federation.discovery.close();
    await federation.auth.close();
    toA.block();
    toP.block();
    const sent = numbered('dark-', 30);
    for (const payload of sent) await publisher.publish('calm/x', payload, 1);
    toA.unblock();
    toP.unblock();
    // The brokers redial from what they knew, with the tokens and keys they hold.
    const { firsts } = await receivedAll(subscriber, sent);
    expect(firsts).toEqual(sent);
  });

  it('delivers what the publishing broker acknowledged before it was killed, after it restarts on its data directory', async () => {
    await using federation = await startTestFederation({
      brokers: ['s'],
      broker: { reconnectBaseMs: 20, reconnectMaxMs: 200 },
    });
    const s = federation.broker('s');
    await using dataDir = await tempDir('mqfed-outbox-');
    let kUrl = 'ws://127.0.0.1:1/peer';
    await using toK = await relayTo(() => new URL(kUrl));
    await using toS = await relayTo(new URL(s.linkUrl));
    // s reaches k only through its relay too; the restarted k gets the same routes.
    await federation.stopBroker('s');
    const s2 = await federation.startBroker('s', {
      httpPort: Number(new URL(s.url).port),
      peerRoutes: { k: toK.url },
      reconnectBaseMs: 20,
      reconnectMaxMs: 200,
    });
    const processOptions = await registeredBrokerProcess(federation, 'k', [
      '--data-dir',
      dataDir.path,
      '--peer-route',
      `s=${toS.url}`,
    ]);
    const first = await spawnBroker(processOptions);
    kUrl = first.linkUrl;
    await using subscriber = await connectClient(s2.mqttUrl);
    await subscriber.subscribe('k/#', 1);
    // The link works: a probe goes through.
    await using probe = await connectClient(first.mqttUrl);
    const deadline = Date.now() + 10_000;
    while (subscriber.received.length === 0 && Date.now() < deadline) {
      await probe.publish('k/probe', 'probe', 1);
      await subscriber.receivedCount(1, 200).catch(() => {});
    }
    expect(subscriber.received.length).toBeGreaterThan(0);
    await probe[Symbol.asyncDispose]();

    // The link is cut; k acknowledges 20 QoS 1 publishes it can only keep, then dies.
    toK.block();
    toS.block();
    await using publisher = await connectClient(first.mqttUrl, { reconnectPeriod: 0 });
    const sent = numbered('kept-', 20);
    for (const payload of sent) await publisher.publish('k/stream', payload, 1);
    expect(await first.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

    // k restarts on the same data directory (new ports); the network heals.
    await using second = await spawnBroker(processOptions);
    kUrl = second.linkUrl;
    toK.unblock();
    toS.unblock();
    const { firsts } = await receivedAll(subscriber, sent);
    expect(firsts).toEqual(sent);
  });
});
