import { describe, expect, it } from 'vitest';
import { connectClient, learnsInterest, startTestFederation } from './broker.fixtures.ts';
import { discoveryReader } from './watch.fixtures.ts';

describe('the interest of persistent sessions', () => {
  it('stays advertised while the client is away, and comes back from the data directory after a restart', async () => {
    await using federation = await startTestFederation({ brokers: ['pub', 'home'] });
    const pub = federation.broker('pub');
    const reader = await discoveryReader(federation);
    const interestOf = async (id: string) =>
      (await reader.lookup()).find((record) => record.id === id)?.interest ?? [];

    // A persistent session subscribes, then its client goes away: the session still wants data.
    {
      await using device = await connectClient(federation.broker('home').mqttUrl, {
        clientId: 'meter-7',
        clean: false,
      });
      const learned = learnsInterest(pub, 'home', 'meters/7/#');
      await device.subscribe('meters/7/#', 1);
      await learned;
    }
    // A clean session's filter goes with its client.
    {
      await using passer = await connectClient(federation.broker('home').mqttUrl);
      await passer.subscribe('passing/#', 1);
    }
    await expect.poll(() => interestOf('home')).toEqual(['meters/7/#']);

    // The broker restarts on its data directory: before any client is back, it advertises the
    // restored session's filter again, and the publishing broker queues for it.
    await federation.stopBroker('home');
    const relearned = learnsInterest(pub, 'home', 'meters/7/#');
    const home = await federation.startBroker('home');
    expect(await interestOf('home')).toEqual(['meters/7/#']);
    await relearned;

    await using publisher = await connectClient(pub.mqttUrl);
    await publisher.publish('meters/7/kwh', 'while away', 1);
    // The client returns to its session and gets what was published meanwhile.
    await using back = await connectClient(home.mqttUrl, { clientId: 'meter-7', clean: false });
    const [message] = await back.receivedCount(1);
    expect(message!.payload.toString()).toBe('while away');
  });
});
