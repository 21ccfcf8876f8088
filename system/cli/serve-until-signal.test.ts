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
