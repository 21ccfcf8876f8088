import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('./mqfed.js', import.meta.url));
const packageJson = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { engines?: { node?: string }; devDependencies: Record<string, string> };

/** Runs bin/mqfed.js as if on Node `version`: the version is faked before the script runs. */
function mqfedOnNode(version: string, ...args: string[]) {
  const fake = `Object.defineProperty(process.versions, 'node', { value: '${version}' });`;
  const run = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(fake)}`, bin, ...args],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('mqfed runs on Node 24 only', () => {
  it('pins the same major in bin/mqfed.js as the node devDependency that npm scripts run on', () => {
    const pinned = /const NODE_MAJOR = (\d+);/.exec(readFileSync(bin, 'utf8'))?.[1];
    expect(pinned).toBeDefined();
    expect(packageJson.devDependencies.node).toMatch(new RegExp(`^\\^${pinned}\\.`));
    // Not in `engines`: npm checks that against the Node npm runs on, and warns on every install.
    expect(packageJson.engines?.node).toBeUndefined();
  });

  it.each(['22.12.0', '25.0.0'])(
    'refuses Node %s with exit code 1 and one line saying which Node it needs',
    (version) => {
      const run = mqfedOnNode(version, '--help');
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([
        `mqfed: needs Node 24, this is Node ${version}; run it through npm (npx mqfed ...), which uses the project's Node 24`,
      ]);
    },
  );

  it('starts on Node 24', () => {
    expect(mqfedOnNode('24.0.0', '--help').status).toBe(0);
  });
});
