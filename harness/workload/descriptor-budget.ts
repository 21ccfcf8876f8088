import { readFileSync } from 'node:fs';
import { TestbedError } from '../testbed-error.ts';

/** Descriptors kept for everything else of the process: files, the client hosts' and services' sockets. */
export const DESCRIPTOR_RESERVE = 512;

/**
 * How many files this process may open (the soft `ulimit -n`), from /proc/self/limits; undefined
 * where there is no such file (not Linux) or it says "unlimited".
 */
export function openFileLimit(
  read = () => readFileSync('/proc/self/limits', 'utf8'),
): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(read())?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * Refuses, before anything connects, a run whose simulated clients in this process need more
 * sockets than it may open. [design] A crowd that outgrows the limit otherwise fails halfway
 * through its connects with EMFILE, or worse, takes the brokers' sockets of an in-process
 * topology with it. Each client holds one socket, two in-process (its broker's end is here too).
 */
export function checkDescriptorBudget(
  clients: number,
  socketsPerClient: number,
  limit = openFileLimit(),
): void {
  if (limit === undefined) return;
  const needed = clients * socketsPerClient + DESCRIPTOR_RESERVE;
  if (needed <= limit) return;
  throw new TestbedError(
    'TOO_MANY_CLIENTS',
    `${clients.toLocaleString('en')} simulated clients would run in the harness process, which ` +
      `needs about ${needed.toLocaleString('en')} open files and may open ${limit.toLocaleString('en')} ` +
      '(ulimit -n): run the scenario where its client hosts are containers (a Docker engine), ' +
      'raise the limit, or make the crowd smaller',
  );
}
