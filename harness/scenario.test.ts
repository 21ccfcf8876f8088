import { describe, expect, it } from 'vitest';
import { MqfedError } from '../system/protocol/index.ts';
import { defineScenario, effectiveTiming, fillTemplate, type ScenarioInput } from './scenario.ts';

const valid: ScenarioInput = {
  name: 'tiny',
  brokers: ['a', 'b'],
  clients: {
    publishers: [{ name: 'pub', broker: 'a', rate: 10, topics: ['t/{i}'] }],
    subscribers: [{ name: 'sub', broker: 'b', filters: ['t/#'] }],
  },
  durationMs: 2_000,
  warmupMs: 500,
  variants: [{ name: 'mqfed' }],
  paper: { overhead: 0.5, note: 'test' },
};

/** The INVALID_REQUEST error a broken scenario gets. */
function errorOf(input: unknown): MqfedError {
  try {
    defineScenario(input as ScenarioInput);
  } catch (error) {
    if (error instanceof MqfedError) return error;
    throw error;
  }
  throw new Error('the scenario was accepted');
}

describe('defineScenario', () => {
  it('accepts a valid scenario and fills in the defaults', () => {
    const scenario = defineScenario(valid);
    expect(scenario.clients.publishers[0]).toMatchObject({ count: 1, payloadBytes: 64, qos: 0 });
    expect(scenario.clients.mobile).toEqual([]);
    expect(scenario.variants[0]).toEqual({ name: 'mqfed', system: 'mqfed', placement: {} });
    expect(scenario).toMatchObject({ seed: 1, drainMs: 1_000, description: '' });
    expect(Object.isFrozen(scenario)).toBe(true);
  });

  it.each([
    [
      'a negative publish rate',
      {
        clients: { ...valid.clients, publishers: [{ ...valid.clients.publishers[0]!, rate: -1 }] },
      },
      'clients.publishers.0.rate',
    ],
    [
      'a payload too small for the header',
      {
        clients: {
          ...valid.clients,
          publishers: [{ ...valid.clients.publishers[0]!, payloadBytes: 8 }],
        },
      },
      'clients.publishers.0.payloadBytes',
    ],
    [
      'a wildcard in a publish topic',
      {
        clients: {
          ...valid.clients,
          publishers: [{ ...valid.clients.publishers[0]!, topics: ['t/+'] }],
        },
      },
      'clients.publishers.0.topics.0',
    ],
    [
      'a fault on an unknown broker',
      { faults: [{ atMs: 100, broker: 'z', action: 'kill' }] },
      'faults.0.broker',
    ],
    [
      'faults out of time order',
      {
        faults: [
          { atMs: 900, broker: 'b', action: 'kill' },
          { atMs: 800, broker: 'b', action: 'restart' },
        ],
      },
      'faults.1.atMs',
    ],
    [
      'an unknown fault action',
      { faults: [{ atMs: 100, broker: 'b', action: 'unplug' }] },
      'faults.0.action',
    ],
    [
      'a subscriber on an unknown broker',
      {
        clients: { ...valid.clients, subscribers: [{ name: 'sub', broker: 'z', filters: ['#'] }] },
      },
      'clients.subscribers.0.broker',
    ],
    [
      'an unknown mobility kind',
      {
        clients: {
          ...valid.clients,
          mobile: [{ name: 'm', brokers: ['a'], filters: ['#'], mobility: { kind: 'teleport' } }],
        },
      },
      'clients.mobile.0.mobility.kind',
    ],
    [
      'a custom mobility model that is not a function',
      {
        clients: {
          ...valid.clients,
          mobile: [
            {
              name: 'm',
              brokers: ['a', 'b'],
              filters: ['#'],
              mobility: { kind: 'custom', name: 'x', model: 'north' },
            },
          ],
        },
      },
      'clients.mobile.0.mobility.model',
    ],
    ['a warm-up as long as the run', { warmupMs: 2_000 }, 'warmupMs'],
    [
      'a placement for a group that does not exist',
      { variants: [{ name: 'v', placement: { nobody: 'a' } }] },
      'variants.0.placement.nobody',
    ],
    ['a QoS of 2', { variants: [{ name: 'v', qos: 2 }] }, 'variants.0.qos'],
    ['no variants', { variants: [] }, 'variants'],
    ['a missing paper reference', { paper: undefined }, 'paper'],
    ['a broker on no host of the network', { network: { hosts: { h1: ['a'] } } }, 'network.hosts'],
    [
      'a broker on two hosts',
      { network: { hosts: { h1: ['a'], h2: ['b', 'a'] } } },
      'network.hosts.h2.1',
    ],
    [
      'a link to a host that is not declared',
      {
        network: {
          hosts: { h1: ['a'], h2: ['b'] },
          links: [{ between: ['h1', 'h9'], delayMs: 1 }],
        },
      },
      'network.links.0.between.1',
    ],
    [
      'a negative link delay',
      { network: { hosts: { h1: ['a'], h2: ['b'] }, defaultLink: { delayMs: -1 } } },
      'network.defaultLink.delayMs',
    ],
    [
      'a client host without a network',
      {
        clients: {
          ...valid.clients,
          subscribers: [{ name: 'sub', broker: 'b', host: 'edge', filters: ['#'] }],
        },
      },
      'clients.subscribers.0.host',
    ],
    [
      'a client host the network does not declare',
      {
        network: { hosts: { h1: ['a'], h2: ['b'] } },
        clients: {
          ...valid.clients,
          subscribers: [{ name: 'sub', broker: 'b', host: 'edge', filters: ['#'] }],
        },
      },
      'clients.subscribers.0.host',
    ],
  ])('rejects %s, naming the field', (_label, change, field) => {
    const error = errorOf({ ...valid, ...change });
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain(`${field}:`);
    expect(error.message).toContain('scenario tiny');
  });

  it('rejects a file that is not an object at all', () => {
    expect(errorOf(42).code).toBe('INVALID_REQUEST');
  });

  it('quick timing comes from the scenario, or is shortened', () => {
    const plain = defineScenario({ ...valid, durationMs: 60_000, warmupMs: 5_000 });
    expect(effectiveTiming(plain, false)).toEqual({ durationMs: 60_000, warmupMs: 5_000 });
    expect(effectiveTiming(plain, true)).toEqual({ durationMs: 12_000, warmupMs: 1_000 });
    const declared = defineScenario({ ...valid, quick: { durationMs: 900, warmupMs: 100 } });
    expect(effectiveTiming(declared, true)).toEqual({ durationMs: 900, warmupMs: 100 });
  });

  it('fills topic templates with the client index and group', () => {
    expect(fillTemplate('fleet/{group}/{i}/pos', 'trucks', 7)).toBe('fleet/trucks/7/pos');
  });
});
