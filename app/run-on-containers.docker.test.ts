import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveDocker } from '../docker/docker.fixtures.ts';
import { buildImage } from '../docker/index.ts';
import type { Results } from '../harness/index.ts';
import { mqfed, ownedBy, runFolder } from './run-cli.fixtures.ts';

const owned = (pid: number) => ownedBy(pid, ['container', 'network']);

const out = runFolder('mqfed-containers-run-', haveDocker ? buildImage : undefined);

describe.skipIf(!haveDocker)('mqfed run on containers', () => {
  it('runs paper-3 --quick on containers by default, writes results and a report, and leaves nothing behind', async () => {
    const dir = join(out.dir, 'paper-3');
    const { child, done } = mqfed(['run', 'paper-3', '--quick', '--out', dir]);
    const { code, output } = await done;
    expect(code, output).toBe(0);
    expect(output).toContain('running paper-3 on containers');
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.environment).toMatchObject({
      topology: 'containers',
      impairment: 'delay-proxy',
    });
    const mqfedVariant = results.variants.find((variant) => variant.name === 'mqfed');
    expect(mqfedVariant?.byPhase?.steady?.lost).toBe(0);
    expect(results.comparison?.crossBrokerP50Ms).toBeGreaterThan(
      results.comparison!.sameBrokerP50Ms,
    );
    // Each container was sampled (its main process, seen from this machine).
    const sampled = results.services.filter((service) => service.samples.length > 0);
    expect(sampled.map((service) => service.name)).toEqual(
      expect.arrayContaining([
        'auth',
        'discovery',
        'broker a',
        'broker b',
        'broker c',
        // The clients' hosts are containers of their own, on one clock with the harness.
        'client host vm-pub',
        'client host vm-sub',
      ]),
    );
    expect(mqfedVariant?.notes?.join('\n')).toMatch(/clients of vm-pub ran on a client host/);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(await owned(child.pid!)).toEqual([]);
  }, 360_000); // three variants (QoS 0, QoS 1, single broker) × three repetitions, each on new containers

  it('runs broker-crash --quick: brokers are killed and restarted, the surviving paths lose nothing, QoS 1 loses nothing, and it recovers', async () => {
    const dir = join(out.dir, 'broker-crash');
    const { done } = mqfed(['run', 'broker-crash', '--quick', '--out', dir]);
    const { code, output } = await done;
    expect(code, output).toBe(0);
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.environment.topology).toBe('containers');
    const byName = new Map(results.variants.map((v) => [v.name, v]));
    for (const variant of results.variants) {
      expect(variant.faults?.map((fault) => [fault.action, fault.error])).toEqual([
        ['kill', undefined],
        ['restart', undefined],
        ['kill', undefined],
        ['restart', undefined],
      ]);
      for (const outage of variant.outages ?? []) {
        expect(outage.surviving.sent).toBeGreaterThan(0);
        expect(outage.surviving.lost).toBe(0);
        expect(outage.recoveryMs).not.toBeNull();
      }
    }
    // QoS 0 loses what was published to and from a dead broker; QoS 1 waits for it.
    expect(byName.get('qos0')!.outages![0]!.whileDown.lost).toBeGreaterThan(0);
  });

  it('removes every container and network of a run interrupted by SIGINT', async () => {
    const { child, done } = mqfed([
      'run',
      'paper-3',
      '--quick',
      '--out',
      join(out.dir, 'interrupted'),
    ]);
    // Interrupt once the services run: wait for the first broker container to exist.
    const deadline = Date.now() + 120_000;
    while ((await owned(child.pid!)).length < 4) {
      if (Date.now() > deadline) throw new Error('the run started no containers in time');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    child.kill('SIGINT');
    const { code, output } = await done;
    expect(code, output).toBe(130);
    expect(output).toContain('removing what this run started');
    expect(await owned(child.pid!)).toEqual([]);
  });
});
