import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

const bin = fileURLToPath(new URL('../bin/mqfed.js', import.meta.url));

/** Starts `mqfed <args>`; resolves with the exit code and what it printed. */
export function mqfed(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number; output: string }>;
} {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const done = once(child, 'exit').then(([code, signal]) => ({
    code: (code as number | null) ?? (signal === null ? -1 : 128),
    output,
  }));
  return { child, done };
}

/**
 * The Docker resources of these kinds that a harness process of this machine owns (labelled by
 * container-ownership.ts): what a run must have removed once it ends, however it ends.
 */
export async function ownedBy(
  pid: number,
  kinds: readonly ('container' | 'service' | 'secret' | 'network')[],
): Promise<string[]> {
  const label = `label=mqfed.owner=${hostname()}/${pid}`;
  const found: string[] = [];
  for (const kind of kinds) {
    const args = kind === 'container' ? ['ps', '--all'] : [kind, 'ls'];
    const { stdout } = await promisify(execFile)('docker', [...args, '--quiet', '--filter', label]);
    found.push(...stdout.trim().split('\n').filter(Boolean));
  }
  return found;
}

/**
 * A scratch folder for a file's runs, made before its tests (then `build` runs, if given: the
 * image, where the tests will run) and removed after them. Read `.dir` inside a test.
 */
export function runFolder(prefix: string, build: (() => Promise<unknown>) | undefined) {
  const folder = { dir: '' };
  beforeAll(async () => {
    folder.dir = await mkdtemp(join(tmpdir(), prefix));
    await build?.();
  });
  afterAll(async () => {
    await rm(folder.dir, { recursive: true, force: true });
  });
  return folder;
}
