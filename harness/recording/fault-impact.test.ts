import { describe, expect, it } from 'vitest';
import type { ExpectedDelivery } from './delivery-recorder.ts';
import { type AppliedFault, outagesOf } from './fault-impact.ts';

// Two publishers (0 on a, 1 on b), two subscribers (0 on a, 1 on b), 10 msg/s each, from 0 to
// 10 s. Broker b is killed at 3 s and back at 5 s; its pairs deliver again from 5.5 s on.
const rateMs = 100;
function deliveries(arrived: (d: Omit<ExpectedDelivery, 'arrived' | 'qos'>) => boolean) {
  return (visit: (d: ExpectedDelivery) => void) => {
    for (const subscriber of [0, 1]) {
      for (const publisher of [0, 1]) {
        for (let seq = 0; seq < 100; seq++) {
          const d = { subscriber, publisher, seq, scheduledMs: seq * rateMs };
          visit({ ...d, arrived: arrived(d), qos: 0 });
        }
      }
    }
  };
}
const brokerOf = (index: number) => (index === 0 ? 'a' : 'b');
const base = {
  publisherBroker: brokerOf,
  subscriberBrokerAt: (subscriber: number) => brokerOf(subscriber),
  scheduleStartMs: 0,
  endMs: 10_000,
};
const kill: AppliedFault = { action: 'kill', broker: 'b', startMs: 3_000, doneMs: 3_050 };
const restart: AppliedFault = { action: 'restart', broker: 'b', startMs: 5_000, doneMs: 5_000 };

describe('the impact of a broker outage', () => {
  it('counts losses on paths through the broker, recovery after restart, and the surviving path', () => {
    const through = (d: { publisher: number; subscriber: number }) =>
      d.publisher === 1 || d.subscriber === 1;
    const [outage] = outagesOf({
      ...base,
      faults: [kill, restart],
      deliveries: deliveries((d) => !through(d) || d.scheduledMs < 3_000 || d.scheduledMs >= 5_500),
    });
    expect(outage).toEqual({
      broker: 'b',
      down: 'kill',
      up: 'restart',
      downAtMs: 3_000,
      upAtMs: 5_000,
      recoveryMs: 500,
      // 3 pairs through b × 20 messages scheduled in [3 s, 5 s), all lost.
      whileDown: { sent: 60, received: 0, lost: 60 },
      // a → a from 3 s until recovery at 5.5 s: 25 messages, none lost.
      surviving: { sent: 25, received: 25, lost: 0 },
    });
  });

  it('says a path never recovered when nothing got through after the restart', () => {
    const [outage] = outagesOf({
      ...base,
      faults: [kill, restart],
      deliveries: deliveries((d) => d.subscriber === 0 && d.publisher === 0),
    });
    expect(outage?.recoveryMs).toBeNull();
  });

  it('counts a link cut against the paths that cross the broker’s links only', () => {
    // b's peer links are cut from 3 s to 5 s: a → b and b → a are cut off; b → b and a → a
    // never needed a link, so they are the surviving paths.
    const crosses = (d: { publisher: number; subscriber: number }) => d.publisher !== d.subscriber;
    const [outage] = outagesOf({
      ...base,
      faults: [
        { ...kill, action: 'cut-links' },
        { ...restart, action: 'restore-links' },
      ],
      deliveries: deliveries((d) => !crosses(d) || d.scheduledMs < 3_000 || d.scheduledMs >= 5_500),
    });
    expect(outage).toEqual({
      broker: 'b',
      down: 'cut-links',
      up: 'restore-links',
      downAtMs: 3_000,
      upAtMs: 5_000,
      recoveryMs: 500,
      // 2 crossing pairs × 20 messages scheduled in [3 s, 5 s), all lost.
      whileDown: { sent: 40, received: 0, lost: 40 },
      // a → a and b → b from 3 s until recovery at 5.5 s: 2 × 25 messages, none lost.
      surviving: { sent: 50, received: 50, lost: 0 },
    });
  });

  it('keeps an outage open until the end when the broker never came back, and skips failed faults', () => {
    const outages = outagesOf({
      ...base,
      faults: [
        { ...kill, action: 'pause' },
        { ...restart, error: 'no such broker' },
      ],
      deliveries: deliveries(() => true),
    });
    expect(outages).toHaveLength(1);
    expect(outages[0]).toMatchObject({ down: 'pause', up: null, upAtMs: null, recoveryMs: null });
    expect(outages[0]?.whileDown.sent).toBe(3 * 70);
  });
});
