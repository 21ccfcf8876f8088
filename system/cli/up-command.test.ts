import { describe, expect, it } from 'vitest';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

/** Reads lines until `ready`; the lines before it are the services' URL lines. */
async function linesUntilReady(child: { nextLine(): Promise<string> }): Promise<string[]> {
  const lines: string[] = [];
  for (let line = await child.nextLine(); line !== 'ready'; line = await child.nextLine()) {
    lines.push(line);
  }
  return lines;
}

async function healthOf(url: string): Promise<unknown> {
  return (await fetch(`${url}/healthz`)).json();
}

describe('mqfed up starts a local federation', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'prints each service with its URLs, then ready, and stops cleanly on %s',
    async (signal) => {
      await using dir = await tempDir('mqfed-cli-up-');
      await using child = spawnMqfed(['up', '--data-dir', dir.path]);
      const lines = await linesUntilReady(child);

      const auth = lines.find((line) => line.startsWith('auth '));
      const authMatch = /^auth (http:\/\/127\.0\.0\.1:\d+) jwks (\S+)$/.exec(auth ?? '');
      expect(authMatch, lines.join('\n')).not.toBeNull();
      expect(authMatch![2]).toBe(`${authMatch![1]}/.well-known/jwks.json`);

      const discovery = lines.find((line) => line.startsWith('discovery '));
      const discoveryMatch = /^discovery (http:\/\/127\.0\.0\.1:(\d+)) watch (\S+)$/.exec(
        discovery ?? '',
      );
      expect(discoveryMatch, lines.join('\n')).not.toBeNull();
      expect(discoveryMatch![3]).toBe(`ws://127.0.0.1:${discoveryMatch![2]}/watch`);

      expect(await healthOf(authMatch![1]!)).toEqual({ status: 'ok' });
      expect(await healthOf(discoveryMatch![1]!)).toEqual({ status: 'ok' });
      expect(await child.stop(signal)).toEqual({ code: 0, signal: null });
    },
  );

  it.each([
    [['--auth-port', 'x'], '--auth-port'],
    [['--log-level', 'loud'], '--log-level'],
    [['--bogus'], '--bogus'],
  ])('refuses %j with exit code 2 naming %s', async (args, flag) => {
    const run = await mqfed(['up', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(flag)]);
  });
});
