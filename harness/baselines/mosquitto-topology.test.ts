import { describe, expect, it } from 'vitest';
import { runScenario } from '../run-scenario.ts';
import { defineScenario } from '../scenario.ts';
import { topologyContract } from '../topology/topology.contract.ts';
import { haveMosquitto, mosquitto } from './mosquitto.fixtures.ts';
import { mosquittoBridgesTopology } from './mosquitto-topology.ts';

describe.skipIf(!haveMosquitto)('the static-bridge baseline as a topology', () => {
  // Static bridges have no peer links to cut and no data directories: those two are left out.
  topologyContract('Mosquitto bridges', () => mosquittoBridgesTopology(), false, {
    linkCuts: false,
    dataDirs: false,
  });

  it('runs beside mqfed in one scenario, behind the same emulated network', async () => {
    const scenario = defineScenario({
      name: 'side-by-side',
      brokers: ['a', 'b'],
      network: {
        hosts: { 'host-a': ['a'], 'host-b': ['b'], clients: [] },
        defaultLink: { delayMs: 5 },
      },
      clients: {
        publishers: [
          { name: 'pub', broker: 'a', host: 'clients', rate: 50, qos: 1, topics: ['sbs/t'] },
        ],
        subscribers: [{ name: 'sub', broker: 'b', host: 'clients', qos: 1, filters: ['sbs/#'] }],
      },
      durationMs: 1_500,
      warmupMs: 300,
      drainMs: 300,
      variants: [{ name: 'mqfed' }, { name: 'mosquitto', system: 'mosquitto-bridge' }],
      paper: { overhead: null, note: 'a test' },
    });
    const { results } = await runScenario(scenario);
    expect(results.environment.impairment).toBe('delay-proxy');
    // The results say which Mosquitto the baseline ran on.
    expect(results.environment.mosquitto).toEqual(mosquitto);
    expect(results.variants.map((v) => v.system)).toEqual(['mqfed', 'mosquitto-bridge']);
    for (const variant of results.variants) {
      expect(variant.sent).toBeGreaterThan(40);
      expect(variant.lost).toBe(0);
      // clients → a, a → b, b → clients: three links of 5 ms each, whichever system carries it.
      expect(variant.byPath?.['cross-broker'].latencyMs.p50).toBeGreaterThanOrEqual(14);
    }
    expect(results.services.map((s) => s.name)).toEqual(
      expect.arrayContaining(['mosquitto a', 'mosquitto b']),
    );
  });
});
