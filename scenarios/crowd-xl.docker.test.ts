import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  containerEngineAnswers,
  containersTopology,
  defineScenario,
  runScenario,
} from '../harness/index.ts';

// As docker/docker.fixtures.ts does (scenarios may not import docker/): skip in one line without
// an engine, fail in CI.
const haveDocker = await containerEngineAnswers();
if (!haveDocker && process.env.MQFED_REQUIRE_DOCKER === '1') {
  throw new Error('a Docker engine is required here (MQFED_REQUIRE_DOCKER=1) but does not answer');
}
if (!haveDocker) console.warn('SKIPPED: crowd-xl container test (no Docker engine answers)');

import { crowdXl } from './crowd-xl.ts';

const docker = async (...args: string[]) =>
  (await promisify(execFile)('docker', args)).stdout.trim().split('\n').filter(Boolean);

beforeAll(async () => {
  if (haveDocker) await buildImage();
});

describe.skipIf(!haveDocker)('crowd-xl, scaled down, on containers', () => {
  it('runs 360 clients over two client hosts with no loss, and the results carry each host’s load', async () => {
    // 2 hosts × (60 sensors + 2 × 60 followers): the shipped shape at a fiftieth of its size,
    // faster (2 msg/s) so a short run still has a few hundred deliveries a second.
    const scenario = defineScenario({
      ...crowdXl({ hosts: 2, sensorsPerHost: 60, rate: 2 }, 'crowd-xl-small'),
      quick: { durationMs: 8_000, warmupMs: 2_000 },
    });
    const { results } = await runScenario(scenario, {
      quick: true,
      topology: containersTopology(),
      measureFloor: false,
    });
    const [variant] = results.variants;
    expect(results.environment.topology).toBe('containers');
    // 120 sensors × 12 messages after the warm-up × 2 followers each.
    expect(variant!.sent).toBe(120 * 12 * 2);
    expect(variant!.byPhase?.steady?.lost).toBe(0);
    expect(variant!.lost).toBe(0);
    expect(variant!.notes?.some((note) => /not primed/.test(note)) ?? false).toBe(false);

    const load = results.hostLoad!;
    expect(load.clients).toBe(360);
    const hosts = load.rows.filter((row) => row.role === 'client-host');
    expect(hosts.map((row) => [row.service, row.clients])).toEqual([
      ['client host crowd-1', 180],
      ['client host crowd-2', 180],
    ]);
    for (const row of hosts) {
      expect(row.samples).toBeGreaterThan(0);
      expect(row.rssBytes).toBeGreaterThan(20 * 1024 * 1024);
      expect(row.perThousandClients!.rssBytes).toBeCloseTo(row.rssBytes / 0.18, -3);
    }
    expect(load.rows.find((row) => row.role === 'harness')).toMatchObject({
      clients: 360,
      clientsHere: 0,
    });
    expect(load.rows.filter((row) => row.role === 'broker')).toHaveLength(3);
    // Every container and network of the run is gone.
    const owned = `label=mqfed.owner=${hostname()}/${process.pid}`;
    expect(await docker('ps', '--all', '--quiet', '--filter', owned)).toEqual([]);
    expect(await docker('network', 'ls', '--quiet', '--filter', owned)).toEqual([]);
  }, 300_000);
});
