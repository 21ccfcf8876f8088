import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectClient, learnsInterest, startTestFederation } from './broker.fixtures.ts';
import { metricOf } from './observe.fixtures.ts';

type Line = Record<string, unknown>;

/** A logger that keeps every line it writes, parsed, and tells who waits for one. */
function recordingLogger() {
  const lines: Line[] = [];
  const waiters = new Set<(line: Line) => void>();
  const logger = pino(
    { level: 'info' },
    {
      write(text: string) {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        for (const wake of waiters) wake(line);
      },
    },
  );
  const next = (predicate: (line: Line) => boolean) =>
    new Promise<Line>((resolve) => {
      const found = lines.find(predicate);
      if (found !== undefined) return resolve(found);
      const check = (line: Line) => {
        if (!predicate(line)) return;
        waiters.delete(check);
        resolve(line);
      };
      waiters.add(check);
    });
  return { logger, lines, next };
}

describe('interest over discovery’s cap', () => {
  it('a broker whose own cap is above discovery’s is refused once, then folds under discovery’s cap', async () => {
    await using federation = await startTestFederation({ brokers: ['pub'] });
    const pub = federation.broker('pub');
    const { logger, lines, next } = recordingLogger();
    // Its own cap would fold nothing: 5,000 filters are under it, and over discovery's 4,096.
    const sub = await federation.startBroker('sub', {
      logger,
      maxSubscriptionsPerClient: 6_000,
      maxAdvertisedInterest: 10_000,
    });
    await using subscriber = await connectClient(sub.mqttUrl);
    await subscriber.mqtt.subscribeAsync(
      Array.from({ length: 5_000 }, (_, i) => `s/${i}/x`),
      { qos: 1 },
    );
    const refused = await next(
      (line) => (line.err as { code?: string } | undefined)?.code === 'TOPIC_LIMIT_EXCEEDED',
    );
    expect(refused).toMatchObject({
      level: 40,
      msg: 'interest advertisement failed; registering again',
    });
    await learnsInterest(pub, 'sub', 's/#');
    expect(pub.links().find((link) => link.peer === 'sub')?.interest).toEqual(['s/#']);
    expect(await metricOf(sub, 'mqfed_broker_interest_folded_filters')).toBe(5_000);
    const fitted = lines.filter((line) => String(line.msg).startsWith('discovery takes fewer'));
    expect(fitted).toEqual([
      expect.objectContaining({ code: 'TOPIC_LIMIT_EXCEEDED', limit: 'interest', max: 4096 }),
    ]);
    // One refusal, not a loop of them.
    const refusals = lines.filter(
      (line) => (line.err as { code?: string } | undefined)?.code === 'TOPIC_LIMIT_EXCEEDED',
    );
    expect(refusals).toHaveLength(1);
  }, 30_000);

  it('a broker whose clients hold 5,000 filters registers with covering interest, and every message arrives', async () => {
    // Discovery keeps its default cap of 4,096 interest filters per broker.
    await using federation = await startTestFederation({ brokers: ['pub'] });
    const pub = federation.broker('pub');
    const { logger, lines } = recordingLogger();
    const sub = await federation.startBroker('sub', { logger, maxSubscriptionsPerClient: 6_000 });
    await using subscriber = await connectClient(sub.mqttUrl);
    const filters = Array.from({ length: 5_000 }, (_, i) => `s/${i}/x`);
    const granted = await subscriber.mqtt.subscribeAsync(filters, { qos: 1 });
    expect(granted.filter((grant) => grant.qos === 1)).toHaveLength(5_000);

    // The publishing broker learns the folded interest from discovery: `s/#` covers all 5,000.
    await learnsInterest(pub, 'sub', 's/#');
    expect(pub.links().find((link) => link.peer === 'sub')?.interest).toEqual(['s/#']);
    expect(await metricOf(sub, 'mqfed_broker_interest_folded_filters')).toBe(5_000);
    const warnings = () => lines.filter((line) => line.code === 'TOPIC_LIMIT_EXCEEDED');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 40, filters: 5_000, advertised: 1 });

    // Brand-new topics on the other broker, published at once: each reaches the subscriber.
    await using publisher = await connectClient(pub.mqttUrl);
    const topics = Array.from({ length: 100 }, (_, i) => `s/${i * 50 + 7}/x`);
    for (const topic of topics) await publisher.publish(topic, topic, 1);
    const got = await subscriber.receivedCount(topics.length, 10_000);
    expect(got.map((message) => message.topic).sort()).toEqual([...topics].sort());
    expect(got.every((message) => message.payload.toString() === message.topic)).toBe(true);

    // More filters during the episode: no second warning.
    await subscriber.mqtt.subscribeAsync(['s/extra/x'], { qos: 1 });
    await subscriber.mqtt.unsubscribeAsync(filters.slice(10));
    // Back under the cap: the exact filters are advertised again, and the episode ends.
    await learnsInterest(pub, 'sub', 's/extra/x');
    expect(pub.links().find((link) => link.peer === 'sub')?.interest).toHaveLength(11);
    expect(await metricOf(sub, 'mqfed_broker_interest_folded_filters')).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect(
      lines.some((line) => line.msg === 'local interest fits the cap again; advertised as is'),
    ).toBe(true);
  }, 60_000);
});
