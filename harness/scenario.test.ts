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

  it.each([
    ['at the top level', { drainMS: 100 }, 'drainMS', 'drainMs'],
    [
      'in a publisher group',
      {
        clients: {
          ...valid.clients,
          publishers: [{ ...valid.clients.publishers[0]!, payloadByte: 999 }],
        },
      },
      'clients.publishers.0.payloadByte',
      'payloadBytes',
    ],
    [
      'in a variant',
      { variants: [{ name: 'single', sytem: 'single-broker' }] },
      'variants.0.sytem',
      'system',
    ],
    [
      'in the network',
      { network: { hosts: { h1: ['a'], h2: ['b'] }, controll: 'h1' } },
      'network.controll',
      'control',
    ],
    [
      'in a network link',
      {
        network: {
          hosts: { h1: ['a'], h2: ['b'] },
          links: [{ between: ['h1', 'h2'], delayMs: 5, los: 0.1 }],
        },
      },
      'network.links.0.los',
      'loss',
    ],
    [
      'in the model of a mobile group',
      {
        clients: {
          ...valid.clients,
          mobile: [
            {
              name: 'm',
              brokers: ['a', 'b'],
              filters: ['#'],
              mobility: { kind: 'round-robin', dwellMs: 100, dwelMs: 200 },
            },
          ],
        },
      },
      'clients.mobile.0.mobility.dwelMs',
      'dwellMs',
    ],
  ])(
    'refuses a misspelled key %s, naming it and the key it likely meant',
    (_where, change, field, meant) => {
      const error = errorOf({ ...valid, ...change });
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toContain(`${field}: unknown field; did you mean "${meant}"?`);
    },
  );

  it('lists the known keys when no key is close to an unknown one', () => {
    const error = errorOf({ ...valid, paper: { ...valid.paper, colour: 'red' } });
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('paper.colour: unknown field; known fields: overhead, note');
  });

  it('names every unknown key of one object on its own', () => {
    const error = errorOf({ ...valid, seeds: 3, quik: { durationMs: 900, warmupMs: 100 } });
    expect(error.message).toContain('seeds: unknown field; did you mean "seed"?');
    expect(error.message).toContain('quik: unknown field; did you mean "quick"?');
  });

  it('lets a variant place any group by its name, as placement keys are group names', () => {
    const scenario = defineScenario({
      ...valid,
      variants: [{ name: 'v', placement: { sub: 'a' } }],
    });
    expect(scenario.variants[0]!.placement).toEqual({ sub: 'a' });
    expect(defineScenario(scenario)).toEqual(scenario);
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

describe('persistent mobile groups', () => {
  const mobile = (extra: object): ScenarioInput => ({
    ...valid,
    clients: {
      ...valid.clients,
      mobile: [
        {
          name: 'walker',
          brokers: ['a', 'b'],
          filters: ['t/#'],
          mobility: { kind: 'round-robin' as const, dwellMs: 1_000 },
          ...extra,
        },
      ],
    },
  });

  it('are clean by default, and persistent at QoS 1 when asked', () => {
    expect(defineScenario(mobile({})).clients.mobile[0]!.persistent).toBe(false);
    expect(defineScenario(mobile({ persistent: true, qos: 1 })).clients.mobile[0]).toMatchObject({
      persistent: true,
      qos: 1,
    });
  });

  it('refuses a persistent group at QoS 0, naming the field and the reason', () => {
    const error = errorOf(mobile({ persistent: true }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('clients.mobile.0.qos: a persistent mobile group ("walker")');
    expect(error.message).toContain('needs qos: 1');
  });

  it('refuses a variant that makes a persistent group QoS 0, and takes one that makes it clean', () => {
    const error = errorOf({
      ...mobile({ persistent: true, qos: 1 }),
      variants: [{ name: 'v', qos: 0 }],
    });
    expect(error.message).toContain('variants.0.qos: a persistent mobile group ("walker")');
    expect(error.message).toContain('in variant "v"');
    const clean = defineScenario({
      ...mobile({ persistent: true, qos: 1 }),
      variants: [{ name: 'persistent' }, { name: 'clean', persistent: false, qos: 0 }],
    });
    expect(clean.variants[1]).toMatchObject({ persistent: false, qos: 0 });
  });

  it('names a misspelled persistent with the key it likely meant', () => {
    const error = errorOf(mobile({ persistant: true, qos: 1 }));
    expect(error.message).toContain(
      'clients.mobile.0.persistant: unknown field; did you mean "persistent"?',
    );
    const variant = errorOf({ ...valid, variants: [{ name: 'v', persistnt: false }] });
    expect(variant.message).toContain(
      'variants.0.persistnt: unknown field; did you mean "persistent"?',
    );
  });
});
