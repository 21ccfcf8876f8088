import { describe, expect, it } from 'vitest';
import { defineScenario } from './scenario.ts';
import { planVariant } from './variant-plan.ts';

const scenario = defineScenario({
  name: 'plan',
  brokers: ['a', 'b', 'c'],
  network: { hosts: { 'h-a': ['a'], 'h-b': ['b'], 'h-c': ['c'], phones: [] } },
  clients: {
    publishers: [{ name: 'pub', count: 2, broker: ['a', 'b'], rate: 10, topics: ['t/{i}'] }],
    subscribers: [{ name: 'one', broker: 'c', filters: ['t/1'] }],
    mobile: [
      {
        name: 'walker',
        brokers: ['a', 'b'],
        host: 'phones',
        filters: ['t/#'],
        mobility: { kind: 'round-robin', dwellMs: 1_000 },
      },
    ],
  },
  clientReconnectMs: 250,
  durationMs: 2_000,
  warmupMs: 500,
  variants: [{ name: 'moved', qos: 1, placement: { one: 'a' } }],
  paper: { overhead: null, note: 'test' },
});

describe('planning the clients of a variant', () => {
  it('applies placement and QoS, fills topics, and expects only what filters match', () => {
    const plan = planVariant(scenario, scenario.variants[0]!, 2_000, 1);
    expect(
      plan.publishers.map((p) => [p.id, p.broker, p.schedule.topics, p.schedule.count]),
    ).toEqual([
      ['pub-0', 'a', ['t/0'], 20],
      ['pub-1', 'b', ['t/1'], 20],
    ]);
    expect(plan.publishers.every((p) => p.schedule.qos === 1)).toBe(true);
    const [one, walker] = plan.subscribers;
    expect(one).toMatchObject({ broker: 'a', spec: { id: 'one-0', qos: 1, reconnectMs: 250 } });
    expect(one?.mobile).toBeUndefined();
    expect(walker).toMatchObject({ broker: 'a', spec: { host: 'phones' } });
    expect(walker?.mobile?.brokers).toEqual(['a', 'b']);
    expect(walker?.handover.handoverWindowMs).toBe(1_000);
    // `one` wants t/1 only (pub-1); the walker wants both.
    expect(plan.expectations.map((e) => [e.subscriber, e.publisher])).toEqual([
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    expect(plan.clientHosts).toEqual(['phones']);
  });
});
