import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MqfedError } from '../system/protocol/index.ts';
import { loadScenario } from './load-scenario.ts';
import { bar, Progress } from './progress.ts';
import { runScenario } from './run-scenario.ts';
import { inProcessTopology } from './topology/in-process.ts';
import { processesTopology } from './topology/processes.ts';

/**
 * `npm run scenario -- <name|file> [--quick] [--out DIR] [--seed N] [--topology KIND]`: runs one
 * scenario (in-process unless told otherwise) and writes DIR/results.json. Progress goes to stderr; stdout gets the summary and the path.
 */
function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('expected an integer');
  return parsed;
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');

interface Flags {
  quick: boolean;
  out?: string;
  seed?: number;
  topology: 'in-process' | 'processes';
}

const program = new Command()
  .name('npm run scenario --')
  .description('Run a testbed scenario and write its results.json')
  .argument('<scenario>', 'a scenario name under scenarios/ (e.g. paper-1) or a file path')
  .option('--quick', 'use the scenario’s short timing (well under a minute)', false)
  .option('--out <dir>', 'where results.json goes (default out/<scenario>-<time>)')
  .option('--seed <n>', 'seed for mobility and randomness (default: the scenario’s)', integer)
  .addOption(
    new Option('--topology <kind>', 'where the services run')
      .choices(['in-process', 'processes'])
      .default('in-process'),
  )
  .action(async (name: string, flags: Flags) => {
    const scenario = await loadScenario(name);
    const outDir = flags.out ?? join('out', `${scenario.name}-${stamp()}`);
    const progress = new Progress();
    progress.log(
      `running ${scenario.name}: ${scenario.variants.length} variant(s)${flags.quick ? ', quick' : ''}`,
    );
    let lastPhase = '';
    const { results, resultsPath } = await runScenario(scenario, {
      quick: flags.quick,
      outDir,
      topology: flags.topology === 'processes' ? processesTopology() : inProcessTopology(),
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      onProgress: (p) => {
        const label = `variant ${p.index + 1}/${p.of} ${p.variant}`;
        if (p.phase !== lastPhase) {
          lastPhase = p.phase;
          progress.log(`${label}: ${p.phase}`);
        }
        progress.update(`${label} ${bar(p.elapsedMs / p.totalMs)} ${p.received} received`);
      },
    });
    progress.clear();
    for (const v of results.variants) {
      console.log(
        `${v.name.padEnd(24)} p50 ${v.latencyMs.p50.toFixed(3)} ms  p99 ${v.latencyMs.p99.toFixed(3)} ms  ` +
          `sent ${v.sent} received ${v.received} lost ${v.lost} dup ${v.duplicates}`,
      );
    }
    const c = results.comparison;
    if (c !== null) {
      const paper = results.paper.overhead;
      console.log(
        `overhead p50 ${(c.overheadP50 * 100).toFixed(1)} % (same ${c.sameBrokerP50Ms} ms, cross ${c.crossBrokerP50Ms} ms)` +
          (paper === null ? '' : `; paper ${(paper * 100).toFixed(0)} %`),
      );
    }
    console.log(resultsPath);
  });

try {
  await program.parseAsync();
} catch (error) {
  const message = error instanceof MqfedError ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}
