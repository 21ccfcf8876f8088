import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * A Debian mosquitto client tool, with its output collected and a kill that always runs. Run under
 * `stdbuf -oL`: into a pipe its output would otherwise be block-buffered until it exits.
 */
export function mosquittoTool(command: string, args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn('stdbuf', ['-oL', command, ...args], {
    stdio: 'pipe',
  });
  let output = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = once(child, 'exit');
  return {
    child,
    output: () => output,
    /** Settles when the process has exited. */
    exited: exited.then(() => undefined),
    /** Resolves once the output satisfies `test`, or fails after `timeoutMs`. */
    waitFor(test: (text: string) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!test(output)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${command}: no ${what} in ${timeoutMs} ms; output:\n${output}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
