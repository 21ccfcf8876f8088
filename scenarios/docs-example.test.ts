import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resultsSchema } from '../harness/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/mqfed.js');

/** The first ```ts block of docs/scenarios.md, exactly as a researcher would copy it. */
async function docExample(): Promise<string> {
  const doc = await readFile(join(root, 'docs/scenarios.md'), 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(doc);
  if (match === null) throw new Error('docs/scenarios.md has no ts example');
  return match[1]!;
}

describe('the scenario example in docs/scenarios.md', () => {
  it('runs as written, moving its commuters with the custom model', async () => {
    // Saved at the top of the checkout, where the doc says, under a name no one else uses.
    const file = join(root, `my-commute-${process.pid}.ts`);
    const out = await mkdtemp(join(tmpdir(), 'mqfed-doc-example-'));
    try {
      await writeFile(file, await docExample());
      const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [bin, 'run', file, '--topology', 'in-process', '--out', out],
          { timeout: 90_000 },
          (error, _stdout, stderr) =>
            resolve({
              code: error === null ? 0 : Number((error as { code?: number }).code),
              stderr,
            }),
        );
      });
      expect(run.code, run.stderr).toBe(0);
      const results = resultsSchema.parse(
        JSON.parse(await readFile(join(out, 'results.json'), 'utf8')),
      );
      expect(results.scenario).toBe('my-commute');
      expect(results.variants.map((variant) => variant.name)).toEqual(['mqfed', 'single-broker']);
      const mqfed = results.variants[0]!;
      expect(mqfed.handovers.length).toBeGreaterThan(0);
      expect(mqfed.received).toBeGreaterThan(0);
      expect(mqfed.received + mqfed.lost).toBe(mqfed.sent);
    } finally {
      await rm(file, { force: true });
      await rm(out, { recursive: true, force: true });
    }
  }, 90_000);
});
