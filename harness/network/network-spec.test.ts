import { describe, expect, it } from 'vitest';
import { brokerHosts, isImpaired, linkBetween, networkSchema } from './network-spec.ts';

const network = networkSchema.parse({
  hosts: { 'vm-a': ['a'], 'vm-b': ['b', 'b2'], edge: [] },
  defaultLink: { delayMs: 3, jitterMs: 0.5 },
  links: [{ between: ['vm-a', 'vm-b'], delayMs: 1 }],
});

describe('a declared network', () => {
  it('places each broker on its host', () => {
    expect([...brokerHosts(network)]).toEqual([
      ['a', 'vm-a'],
      ['b', 'vm-b'],
      ['b2', 'vm-b'],
    ]);
  });

  it('gives a named link both ways, the default link elsewhere, and nothing within a host', () => {
    expect(linkBetween(network, 'vm-a', 'vm-b')).toEqual({ delayMs: 1, jitterMs: 0, loss: 0 });
    expect(linkBetween(network, 'vm-b', 'vm-a')).toEqual({ delayMs: 1, jitterMs: 0, loss: 0 });
    expect(linkBetween(network, 'edge', 'vm-a')).toEqual({ delayMs: 3, jitterMs: 0.5, loss: 0 });
    expect(linkBetween(network, 'vm-b', 'vm-b')).toBeUndefined();
    expect(linkBetween(network, undefined, 'vm-b')).toBeUndefined();
  });

  it('is impaired only when some link between two hosts delays, jitters or loses', () => {
    expect(isImpaired(network)).toBe(true);
    expect(isImpaired(undefined)).toBe(false);
    expect(isImpaired(networkSchema.parse({ hosts: { x: ['a'], y: ['b'] } }))).toBe(false);
    const lossy = networkSchema.parse({
      hosts: { x: [], y: [] },
      defaultLink: { delayMs: 0, loss: 0.1 },
    });
    expect(isImpaired(lossy)).toBe(true);
  });
});
