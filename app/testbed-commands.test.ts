import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resultsSchema } from '../harness/index.ts';
import { syntheticResults } from '../reports/fixtures.ts';
import { terminalSummary } from './testbed-commands.ts';

const bin = fileURLToPath(new URL('../bin/mqfed.js', import.meta.url));
const harness = new URL('../harness/index.ts', import.meta.url).href;

function mqfed(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : Number((error as { code?: number }).code),
        stdout,
        stderr,
      });
    });
  });
}

/** A scenario file as a researcher writes it: one publisher, one subscriber, two brokers. */
const tinyScenario = `import { defineScenario } from '${harness}';
export default defineScenario({
  name: 'tiny',
  description: 'one publisher, one subscriber',
  brokers: ['a', 'b'],
  clients: {
    publishers: [{ name: 'pub', broker: 'a', rate: 50, payloadBytes: 32, topics: ['tiny/t'] }],
    subscribers: [{ name: 'sub', broker: 'b', filters: ['tiny/#'] }],
  },
  durationMs: 1200,
  warmupMs: 200,
  drainMs: 300,
  seed: 5,
  variants: [
    { name: 'same-broker qos1', qos: 1, placement: { sub: 'a' } },
    { name: 'cross-broker qos1', qos: 1, placement: { sub: 'b' } },
  ],
  paper: { overhead: 0.5, note: 'a test' },
});
`;

describe('the terminal summary of a run', () => {
  it('shows medians with intervals, names the compared paths, and passes on warnings', () => {
    const results = syntheticResults({ repetitions: 5 });
    results.noise!.warnings.push('the machine was busy');
    const text = terminalSummary(results);
    expect(text).toMatch(/^same-broker qos0 +p50 [\d.]+ ms \([\d.]+–[\d.]+, n=5\)/m);
    expect(text).toContain('overhead of cross-broker over same-broker delay: p50 ');
    expect(text).toContain('(paper: 50 %)');
    expect(text).toMatch(/measuring floor: scheduler lag p99 [\d.]+ ms/);
    expect(text).toContain('warning: the machine was busy');
  });

  it('says a single run has no interval rather than showing it as exact', () => {
    expect(terminalSummary(syntheticResults())).toContain('(1 run, no interval)');
  });
});

describe('mqfed runs the testbed', () => {
  it('lists the shipped scenarios', async () => {
    const run = await mqfed(['list']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^paper-1 +\S/m);
    expect(run.stdout).toMatch(/^paper-2 +\S/m);
  });

  it.each(['in-process', 'processes'])(
    'runs a scenario file on the %s topology and writes results.json and report.html',
    async (topology) => {
      const dir = await mkdtemp(join(tmpdir(), 'mqfed-run-'));
      try {
        const file = join(dir, 'tiny.ts');
        await writeFile(file, tinyScenario);
        const out = join(dir, 'out');
        const run = await mqfed(['run', file, '--topology', topology, '--out', out]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toContain(`report ${join(out, 'report.html')}`);
        const results = resultsSchema.parse(
          JSON.parse(await readFile(join(out, 'results.json'), 'utf8')),
        );
        expect(results.environment.topology).toBe(topology);
        for (const variant of results.variants) {
          expect(variant.received + variant.lost).toBe(variant.sent);
          // QoS 1 on a steady path: nothing lost.
          expect(variant.lost).toBe(0);
        }
        expect(results.comparison!.crossBrokerP50Ms).toBeGreaterThan(0);
        expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<canvas');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it.each([
    [['run', 'paper-1', '--topology', 'cloud'], '--topology'],
    [['run', 'paper-1', '--seed', 'x'], '--seed'],
    [['run', 'paper-1', '--baseline', 'kafka'], '--baseline'],
    [['run'], 'scenario'],
    [['run', 'paper-1', '--repeat', '0'], '--repeat'],
    [['run', 'paper-1', '--repeat', 'many'], '--repeat'],
    [['run', 'paper1'], 'did you mean "paper-1"'],
    [['run', 'no-such-scenario'], 'mqfed list'],
  ])('refuses %j with exit code 2 naming %s', async (args, word) => {
    const run = await mqfed(args);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(word)]);
  });

  it('names the environment variable behind every option of run', async () => {
    const help = await mqfed(['run', '--help']);
    expect(help.code).toBe(0);
    for (const variable of [
      'MQFED_OUT',
      'MQFED_QUICK',
      'MQFED_REPEAT',
      'MQFED_PIN',
      'MQFED_SEED',
      'MQFED_BASELINE',
      'MQFED_TOPOLOGY',
    ]) {
      expect(help.stdout).toContain(variable);
    }
  });

  it('refuses a broken scenario file with the field named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqfed-run-'));
    try {
      const file = join(dir, 'broken.ts');
      await writeFile(file, tinyScenario.replace('rate: 50', "rate: 'fast'"));
      const run = await mqfed(['run', file, '--topology', 'in-process']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/INVALID_REQUEST: .*rate/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
