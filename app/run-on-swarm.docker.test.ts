import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../docker/index.ts';
import { haveSwarm } from '../docker/swarm.fixtures.ts';
import type { Results } from '../harness/index.ts';
import { mqfed, ownedBy, runFolder } from './run-cli.fixtures.ts';

/** `mqfed run <scenario> --topology swarm --quick --out <dir>`, and any more flags. */
const onSwarm = (scenario: string, dir: string, more: string[] = []) =>
  mqfed(['run', scenario, '--topology', 'swarm', '--quick', ...more, '--out', dir]);
const owned = (pid: number) => ownedBy(pid, ['service', 'secret', 'network']);

const out = runFolder('mqfed-swarm-run-', haveSwarm ? buildImage : undefined);

describe.skipIf(!haveSwarm)('mqfed run --topology swarm', () => {
  it('runs paper-3 --quick on the swarm: hosts placed, delays through link proxies, clocks read, a report, nothing left', async () => {
    const dir = join(out.dir, 'paper-3');
    const { child, done } = onSwarm('paper-3', dir, ['--repeat', '1']);
    const { code, output } = await done;
    expect(code, output).toBe(0);
    expect(output).toContain('running paper-3 on swarm');
    // The run says in the terminal how it placed the hosts.
    expect(output).toMatch(/^placement: .*anywhere on the 1 node/m);
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.environment).toMatchObject({ topology: 'swarm', impairment: 'delay-proxy' });
    // No node is labelled mqfed.host here: the run says that it placed the hosts anywhere.
    expect(results.environment.placement?.summary).toMatch(/anywhere on the 1 node/);
    expect(Object.keys(results.environment.placement?.services ?? {})).toEqual(
      expect.arrayContaining(['auth', 'discovery', 'a', 'b', 'c', 'client host vm-pub']),
    );
    const mqfedVariant = results.variants.find((variant) => variant.name === 'mqfed');
    // The mobile subscribers keep no session: what is published while one reconnects is lost
    // to it, and on a loaded machine a reconnect can outlast the 1 s handover window, so a few
    // such losses land in the steady phase. The fixed paths lose nothing; this bounds the rest.
    const steady = mqfedVariant!.byPhase!.steady!;
    expect(steady.received).toBeGreaterThan(1_000);
    expect(steady.lost).toBeLessThanOrEqual(steady.received * 0.02);
    // Same-broker deliveries cross two 3 ms client links; cross-broker ones add a 1 ms link.
    expect(results.comparison!.sameBrokerP50Ms).toBeGreaterThan(6);
    expect(results.comparison!.crossBrokerP50Ms).toBeGreaterThan(
      results.comparison!.sameBrokerP50Ms,
    );
    expect(mqfedVariant?.repetitions?.[0]?.clocks?.map((clock) => clock.host).sort()).toEqual([
      'vm-pub',
      'vm-sub',
    ]);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(await owned(child.pid!)).toEqual([]);
  }, 600_000);

  it('runs broker-crash --quick on the swarm: brokers are killed and come back, and at QoS 1 the surviving paths lose nothing', async () => {
    const dir = join(out.dir, 'broker-crash');
    const { done } = onSwarm('broker-crash', dir, ['--repeat', '1']);
    const { code, output } = await done;
    expect(code, output).toBe(0);
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.environment.topology).toBe('swarm');
    for (const variant of results.variants) {
      expect(variant.faults?.map((fault) => [fault.action, fault.error])).toEqual([
        ['kill', undefined],
        ['restart', undefined],
        ['kill', undefined],
        ['restart', undefined],
      ]);
      // [known] At QoS 0 on swarm, paths that do not touch the killed broker lost 2 and 146
      // messages in two runs (none on containers); at QoS 1 they lose none. The harness's
      // clients reach brokers through ports published on the node, which the engine rewires
      // when a task dies: the likely cause, not yet shown. So the surviving-path guarantee is
      // asserted where the protocol makes it, at QoS 1.
      if (variant.name !== 'qos1') continue;
      for (const outage of variant.outages ?? []) {
        expect(outage.surviving.sent).toBeGreaterThan(0);
        expect(outage.surviving.lost).toBe(0);
      }
    }
    // QoS 0 loses what was published to and from a dead broker.
    const qos0 = results.variants.find((variant) => variant.name === 'qos0');
    expect(qos0?.outages?.[0]?.whileDown.lost).toBeGreaterThan(0);
  }, 600_000);

  it('removes every service, secret and network of a run interrupted by SIGINT', async () => {
    const { child, done } = onSwarm('paper-3', join(out.dir, 'interrupted'));
    const deadline = Date.now() + 240_000;
    while ((await owned(child.pid!)).length < 6) {
      if (Date.now() > deadline) throw new Error('the run started no services in time');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    child.kill('SIGINT');
    const { code, output } = await done;
    expect(code, output).toBe(130);
    expect(await owned(child.pid!)).toEqual([]);
  }, 300_000);
});
