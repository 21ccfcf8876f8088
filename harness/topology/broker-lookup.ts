import { TestbedError } from '../testbed-error.ts';

/**
 * The two checks every topology kind makes before it acts on a broker by name: is it one of
 * this topology's (`known`), and is it up (`running`, which returns what the kind keeps for it).
 * Both throw SERVICE_NOT_FOUND, with a message that says which.
 */
export function brokerLookup<T>(
  brokers: readonly string[],
  current: (name: string) => T | undefined,
  stopped: ReadonlySet<string>,
): { known(name: string): void; running(name: string): T } {
  const known = (name: string) => {
    if (!brokers.includes(name)) {
      throw new TestbedError('SERVICE_NOT_RUNNING', `no broker ${name} in this topology`);
    }
  };
  return {
    known,
    running(name) {
      known(name);
      const found = current(name);
      if (found === undefined || stopped.has(name)) {
        throw new TestbedError('SERVICE_NOT_RUNNING', `broker ${name} is stopped`);
      }
      return found;
    },
  };
}
