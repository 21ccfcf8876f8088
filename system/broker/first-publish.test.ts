import { describe, expect, it } from 'vitest';
import { connectClient, learnsInterest, startTestFederation } from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';

async function metricsOf(broker: BrokerService): Promise<string> {
  return (await fetch(`${broker.url}/metrics`)).text();
}

/** The value of one series, 0 when it is absent. */
function series(text: string, name: string, labels: string): number {
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the first publish on a topic no broker has seen', () => {
  it.each([0, 1] as const)(
    'reaches every remote subscriber waiting for it at QoS %i, and nothing goes to a broker that does not want it',
    async (qos) => {
      await using federation = await startTestFederation({ brokers: ['b1', 'b2', 'b3', 'b4'] });
      const [b1, b2, b3, b4] = ['b1', 'b2', 'b3', 'b4'].map((id) => federation.broker(id));
      await using onB2 = await connectClient(b2!.mqttUrl);
      await using onB3 = await connectClient(b3!.mqttUrl);
      await using onB4 = await connectClient(b4!.mqttUrl);
      const learned = Promise.all([
        learnsInterest(b1!, 'b2', 'bar/#'),
        learnsInterest(b1!, 'b3', 'bar/+/x'),
        learnsInterest(b1!, 'b4', 'other/#'),
      ]);
      await onB2.subscribe('bar/#', qos);
      await onB3.subscribe('bar/+/x', qos);
      await onB4.subscribe('other/#', qos);
      // The bound: the SUBACKs are in, and the interest has reached the publishing broker.
      await learned;
      expect(b1!.links().every((link) => link.state === 'down')).toBe(true);

      await using publisher = await connectClient(b1!.mqttUrl);
      const topics = [1, 2, 3, 4, 5].map((n) => `bar/${n}/x`);
      for (const topic of topics) await publisher.publish(topic, `first on ${topic}`, qos);

      const expected = topics.map((topic) => `${topic}:first on ${topic}`);
      const seen = (messages: { topic: string; payload: Buffer }[]) =>
        messages.map((m) => `${m.topic}:${m.payload.toString()}`);
      expect(seen(await onB2.receivedCount(5))).toEqual(expected);
      expect(seen(await onB3.receivedCount(5))).toEqual(expected);

      // b4's clients want other/#: no link to it, and not one byte of bar/ went its way.
      const text = await metricsOf(b1!);
      expect(series(text, 'mqfed_broker_link_bytes_total', 'peer="b4",direction="out"')).toBe(0);
      expect(b1!.links().find((link) => link.peer === 'b4')?.state).toBe('down');
      expect(onB4.received).toEqual([]);
    },
  );

  it('queues for a peer whose link is not up yet and delivers in publish order once it is', async () => {
    await using federation = await startTestFederation({ brokers: ['p', 's'] });
    const [p, s] = [federation.broker('p'), federation.broker('s')];
    await using subscriber = await connectClient(s.mqttUrl);
    const learned = learnsInterest(p, 's', 'burst/#');
    await subscriber.subscribe('burst/#', 1);
    await learned;
    await using publisher = await connectClient(p.mqttUrl);
    // Back to back, at QoS 0 and 1 alternating: all of them are published before the link is up.
    const sent = Array.from({ length: 50 }, (_, index) => `m${index}`);
    await Promise.all(
      sent.map((payload, index) =>
        publisher.publish(`burst/${index % 3}`, payload, (index % 2) as 0 | 1),
      ),
    );
    const got = (await subscriber.receivedCount(50)).map((m) => m.payload.toString());
    expect(got).toEqual(sent);
  });
});
