import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { haveMosquitto } from '../baselines/mosquitto.fixtures.ts';

const fixture = fileURLToPath(new URL('./child-guard.fixtures.ts', import.meta.url));
const GONE_WITHIN_MS = 10_000;

/** The state letter of /proc/<pid>/stat; undefined once the process is gone. */
function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Alive: it exists and is not a zombie (an exited child whose new parent has not reaped it). */
const isAlive = (pid: number) => {
  const state = stateOf(pid);
  return state !== undefined && state !== 'Z';
};

/** Every process whose parent is `pid`: what a harness started, helpers included. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * The scratch directories the services were started with (`--data-dir`, a Mosquitto config):
 * a killed harness cannot remove them, so the test does.
 */
function scratchDirsOf(pids: readonly number[]): string[] {
  const dirs = pids.flatMap((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .map((arg) => relative(tmpdir(), arg).split(sep)[0]!)
      .filter((top) => top.startsWith('mqfed-'))
      .map((top) => join(tmpdir(), top)),
  );
  return [...new Set(dirs)];
}

/** Resolves with the pids still alive once all are gone or the deadline passed. */
async function aliveAfter(pids: readonly number[], deadlineMs: number): Promise<number[]> {
  const deadline = Date.now() + deadlineMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}

const hasProc = existsSync('/proc/self/stat');

/**
 * Starts a harness of `kind` in a child process, SIGKILLs it once its services run, and expects
 * every process it had started (services, watchdogs) to be gone within a few seconds.
 */
async function expectNothingLeftAfterKilling(kind: 'processes' | 'mosquitto'): Promise<void> {
  const harness = spawn(process.execPath, [fixture, kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(harness, 'exit');
  let started: number[] = [];
  let scratch: string[] = [];
  try {
    const [line] = (await once(createInterface({ input: harness.stdout }), 'line')) as [string];
    const services = JSON.parse(line) as number[];
    expect(services.length).toBeGreaterThanOrEqual(2);
    started = childrenOf(harness.pid!);
    expect(started).toEqual(expect.arrayContaining(services));
    scratch = scratchDirsOf(services);

    harness.kill('SIGKILL');
    await exited;
    expect(await aliveAfter(started, GONE_WITHIN_MS)).toEqual([]);
  } finally {
    // A failure here must not itself leave processes or files behind.
    harness.kill('SIGKILL');
    for (const pid of started.filter(isAlive)) process.kill(pid, 'SIGKILL');
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

// Starting a topology takes a few seconds, many more on a loaded machine.
const TEST_TIMEOUT_MS = 60_000;

describe.skipIf(!hasProc)('a harness killed outright (SIGKILL) leaves no process behind', () => {
  it(
    'its mqfed services shut down once their stdin pipe closes',
    () => expectNothingLeftAfterKilling('processes'),
    TEST_TIMEOUT_MS,
  );

  it.skipIf(!haveMosquitto)(
    'its Mosquitto brokers are killed by their watchdogs, which then end too',
    () => expectNothingLeftAfterKilling('mosquitto'),
    TEST_TIMEOUT_MS,
  );
});
