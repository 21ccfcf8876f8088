import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { spawnMqfed, tempDir } from './cli.fixtures.ts';

describe('a service told to exit with its stdin', () => {
  it.each([
    ['the flag', ['--exit-with-stdin'], { MQFED_EXIT_WITH_STDIN: undefined }],
    ['MQFED_EXIT_WITH_STDIN', [], { MQFED_EXIT_WITH_STDIN: '1' }],
  ])('shuts down cleanly, exit code 0, when its stdin closes (%s)', async (_, flags, env) => {
    await using dir = await tempDir('mqfed-cli-stdin-');
    await using child = spawnMqfed(['auth', '--port', '0', '--data-dir', dir.path, ...flags], env);
    expect(await child.nextLine()).toMatch(/^auth /);
    const exited = once(child.child, 'exit');
    // What the kernel does for a supervisor that dies: the write end of the pipe closes.
    child.child.stdin.end();
    expect(await exited).toEqual([0, null]);
  });
});

describe('a service process', () => {
  it('keeps no resource timings of its fetches in the performance timeline', async () => {
    await using dir = await tempDir('mqfed-cli-timings-');
    await using child = spawnMqfed(['auth', '--port', '0', '--data-dir', dir.path, '--insecure'], {
      NODE_OPTIONS: '--inspect=127.0.0.1:0',
    });
    const authUrl = (await child.nextLine()).split(' ')[1]!;
    const inspector = /Debugger listening on (ws:\S+)/.exec(child.stderr())?.[1];
    expect(inspector).toBeDefined();
    const ws = new WebSocket(inspector!);
    await once(ws, 'open');
    try {
      // A fetch inside the service, as it makes to auth and discovery all the time; Node's
      // default would keep it (and 249 more) in the timeline.
      // The observer is told once the entry is recorded, and buffered if it is ever going to be.
      const expression = `new Promise((resolve) => {
        const observer = new PerformanceObserver(() => {
          observer.disconnect();
          resolve(performance.getEntriesByType('resource').length);
        });
        observer.observe({ type: 'resource' });
        fetch(${JSON.stringify(`${authUrl}/.well-known/jwks.json`)}).then((r) => r.text());
      })`;
      ws.send(
        JSON.stringify({
          id: 1,
          method: 'Runtime.evaluate',
          params: { expression, awaitPromise: true, returnByValue: true },
        }),
      );
      const [event] = (await once(ws, 'message')) as [MessageEvent];
      const reply = JSON.parse(String(event.data)) as { result: { result: { value: unknown } } };
      expect(reply.result.result.value).toBe(0);
    } finally {
      ws.close();
    }
  });
});
