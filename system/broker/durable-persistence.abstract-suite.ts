/**
 * aedes-persistence's own abstract test suite (the contract every aedes persistence passes),
 * run against the durable persistence. It is written for node:test, so this file is a node:test
 * program: durable-persistence.test.ts runs it with `node --test` and checks that it passed.
 *
 * It runs twice:
 * - as is: the persistence behaves as aedes' memory persistence does;
 * - restarting: after every call that changes something, the persistence is closed and a new
 *   one is opened on the same file, so every read is answered by state restored from disk. This
 *   proves each write is complete, for every case the suite covers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDurablePersistence, type DurablePersistence } from './durable-persistence.ts';

type TestFn = (t: unknown) => Promise<void> | void;
type Suite = (options: {
  test: (name: string, fn: TestFn) => void;
  persistence: () => unknown;
  testAsync: boolean;
}) => void;

const abstractSuite = createRequire(import.meta.url)('aedes-persistence/abstract.js') as Suite;

const dir = mkdtempSync(join(tmpdir(), 'mqfed-durable-abstract-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `sessions-${++files}.sqlite`);

abstractSuite({
  test: (name, fn) => test(name, fn),
  persistence: () => createDurablePersistence({ path: newPath() }),
  testAsync: true,
});

const MUTATIONS = [
  'storeRetained',
  'addSubscriptions',
  'removeSubscriptions',
  'cleanSubscriptions',
  'outgoingEnqueue',
  'outgoingEnqueueCombi',
  'outgoingUpdate',
  'outgoingClearMessageId',
  'incomingStorePacket',
  'incomingDelPacket',
  'cleanIncoming',
  'putWill',
  'delWill',
] as const;
const READS = [
  'createRetainedStream',
  'createRetainedStreamCombi',
  'subscriptionsByClient',
  'countOffline',
  'subscriptionsByTopic',
  'outgoingStream',
  'incomingGetPacket',
  'getWill',
  'streamWill',
  'getClientList',
] as const;

/** A persistence that restarts from its file after every change. */
function restartingPersistence(): unknown {
  const path = newPath();
  let current: DurablePersistence = createDurablePersistence({ path });
  let broker: DurablePersistence['broker'];
  const call = (name: string, args: unknown[]) =>
    (current as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.apply(
      current,
      args,
    );
  const wrapper: Record<string, unknown> = {
    get broker() {
      return current.broker;
    },
    async setup(brokerToUse: DurablePersistence['broker']) {
      broker = brokerToUse;
      await current.setup(broker);
    },
    async destroy() {
      await current.destroy();
    },
  };
  for (const name of MUTATIONS) {
    wrapper[name] = async (...args: unknown[]) => {
      try {
        return await call(name, args);
      } finally {
        await current.destroy();
        current = createDurablePersistence({ path });
        await current.setup(broker);
      }
    };
  }
  for (const name of READS) wrapper[name] = (...args: unknown[]) => call(name, args);
  return wrapper;
}

/**
 * Where restoring differs from never having stopped, on purpose: a will restored from disk
 * belongs to a connection of the previous run, so streamWill hands it out without a brokerId
 * (see durable-persistence.ts), where these cases expect the brokerId it was stored with.
 */
const differsAfterRestart: Record<string, string> = {
  'stream all will messages': 'restored wills are streamed as orphans, without brokerId',
  'stream all will message for unknown brokers':
    'restored wills are streamed as orphans, without brokerId',
};

abstractSuite({
  test: (name, fn) => {
    const skip = differsAfterRestart[name];
    test(`restarting: ${name}`, skip === undefined ? {} : { skip }, fn);
  },
  persistence: restartingPersistence,
  testAsync: true,
});
