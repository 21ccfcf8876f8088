/**
 * Cleanups that must run when the harness is interrupted (Ctrl-C, SIGTERM) while something
 * outside the process is alive: containers and networks, which nothing else would remove.
 * [design] testcontainers normally leaves that to its reaper container, which cannot be pulled
 * on a machine without a registry; so a started container topology registers its `close` here.
 * While any cleanup is registered, the first SIGINT or SIGTERM runs them all (each bounded) and
 * then exits with 128 + the signal's number, as the default action would have; a second signal
 * exits at once. With none registered, signals keep their default behaviour.
 */
const cleanups = new Set<() => Promise<void>>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
const CLEANUP_TIMEOUT_MS = 60_000;
let interrupted = false;

function onSignal(signal: (typeof SIGNALS)[number]): void {
  if (interrupted) process.exit(EXIT_CODES[signal]);
  interrupted = true;
  process.stderr.write(`\n${signal}: removing what this run started…\n`);
  const all = Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
  const timeout = new Promise((resolve) => setTimeout(resolve, CLEANUP_TIMEOUT_MS).unref());
  void Promise.race([all, timeout]).then(() => process.exit(EXIT_CODES[signal]));
}

/** Runs `cleanup` if the process is interrupted; call the returned function once it ran anyway. */
export function cleanupOnInterrupt(cleanup: () => Promise<void>): () => void {
  if (cleanups.size === 0) for (const signal of SIGNALS) process.on(signal, onSignal);
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}
