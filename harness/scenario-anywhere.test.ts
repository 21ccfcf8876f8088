import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../system/common/testing.ts';

const checkout = fileURLToPath(new URL('..', import.meta.url));

/** A scenario small enough to run in a few seconds, importing the harness by package name. */
const tinyScenario = `import { defineScenario } from 'mqfed/harness';

export default defineScenario({
  name: 'from-anywhere',
  brokers: ['a', 'b'],
  clients: {
    publishers: [{ name: 'pub', broker: 'a', rate: 20, topics: ['anywhere/{i}'] }],
    subscribers: [{ name: 'sub', broker: 'b', filters: ['anywhere/#'] }],
  },
  durationMs: 1_500,
  warmupMs: 300,
  drainMs: 200,
  variants: [{ name: 'mqfed' }],
  paper: { overhead: null, note: 'kept outside the checkout' },
});
`;

/** Runs this Node on `args` in `cwd`, answering its exit code and output; never outlives the test. */
async function runNode(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('a scenario file outside the checkout', () => {
  it('loads, importing the harness as mqfed/harness with no node_modules beside it', async () => {
    await using dir = await tempDir('mqfed-anywhere-');
    const file = join(dir.path, 'from-anywhere.ts');
    await writeFile(file, tinyScenario);
    // In a Node of its own: vitest resolves imports its own way, which would find the package
    // whether or not Node can.
    const loader = pathToFileURL(join(checkout, 'harness/load-scenario.ts')).href;
    const run = await runNode(
      [
        '--input-type=module',
        '--eval',
        `const { loadScenario } = await import(${JSON.stringify(loader)});
         console.log((await loadScenario(process.argv[1])).name);`,
        file,
      ],
      dir.path,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('from-anywhere');
  });

  it('runs with `mqfed run /its/path.ts`', async () => {
    await using dir = await tempDir('mqfed-anywhere-');
    const file = join(dir.path, 'from-anywhere.ts');
    const out = join(dir.path, 'out');
    await writeFile(file, tinyScenario);
    const run = await runNode(
      [
        join(checkout, 'bin/mqfed.js'),
        'run',
        file,
        '--quick',
        '--topology',
        'in-process',
        '--out',
        out,
      ],
      dir.path,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
  }, 60_000);

  it('imports mqfed/harness with plain node where the checkout is installed as a dependency', async () => {
    await using dir = await tempDir('mqfed-anywhere-');
    // What `npm install <path-to-checkout>` makes: a symlink. Node follows it to the checkout's
    // real path, which is not under node_modules, so it still strips the types.
    await mkdir(join(dir.path, 'node_modules'));
    await symlink(checkout, join(dir.path, 'node_modules', 'mqfed'), 'dir');
    await writeFile(
      join(dir.path, 'probe.mjs'),
      `import { defineScenario } from 'mqfed/harness';\nconsole.log(typeof defineScenario);\n`,
    );
    const run = await runNode(['probe.mjs'], dir.path);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('function');
  });
});
