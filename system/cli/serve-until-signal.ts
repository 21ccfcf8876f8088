import type { RunningService } from '../common/index.ts';

/**
 * Keeps a started service running until SIGINT or SIGTERM, then closes it cleanly and exits 0.
 * A second signal while closing exits at once with 130, as people expect of Ctrl-C twice.
 *
 * `announce` prints the service's URL lines. [design] It runs only once the signal handlers are
 * in place: whoever reads those lines may signal at once, and a signal that arrived before the
 * handlers would kill the process instead of closing it cleanly.
 */
export async function serveUntilSignal(
  service: RunningService,
  announce: () => void,
): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`${signal} received, shutting down\n`);
      service.close().then(resolve, (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    announce();
  });
}
