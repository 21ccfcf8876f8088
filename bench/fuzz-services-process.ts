// The services `npm run fuzz` attacks, in a process of their own: started by fuzz-services.ts
// with `--expose-gc` and an IPC channel. [design] A crash here cannot take the fuzzer down and is
// seen as this process exiting; memory is read here, after a forced GC, through the IPC channel
// rather than through an endpoint the product would have to carry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthClient } from '../system/auth/index.ts';
import { startLocalFederation } from '../system/broker/index.ts';
import type { LogLevel } from '../system/common/index.ts';
import { brokerTarget, type TokenTarget } from '../system/protocol/index.ts';
import {
  BROKER_ID,
  type FuzzIdentity,
  type FuzzReady,
  type FuzzReport,
  type FuzzRequest,
  PEER_IDS,
  READER_ID,
  WRITER_ID,
} from './fuzz-wire.ts';

const gc = globalThis.gc;
if (gc === undefined) throw new Error('run with --expose-gc');
if (process.send === undefined) throw new Error('run with an IPC channel (fuzz-services.ts)');
const send = (message: FuzzReport) => process.send?.(message);

// An uncaught exception is the crash the fuzzer counts: say what it was, then die as Node would.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    send({ type: 'uncaught', event, error: String((error as Error)?.stack ?? error) });
    process.exitCode = 70;
    setImmediate(() => process.exit(70));
  });
}

const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-fuzz-'));
const federation = await startLocalFederation({
  dataDir,
  brokers: [BROKER_ID],
  logLevel: (process.env.MQFED_LOG_LEVEL ?? 'error') as LogLevel,
  // Tokens outlive the longest run, so the fuzzer never needs fresh ones.
  auth: { tokenTtlMs: 2 * 3_600_000 },
  // Short idle grace: links the fuzzer leaves idle are closed rather than kept for minutes.
  broker: { linkIdleGraceMs: 2_000 },
});
const { auth, discovery } = federation;
const broker = federation.broker(BROKER_ID);
const admin = createAuthClient({ url: auth.url });

/** Registers `id` as a broker service (all topics both ways) and returns its tokens. */
async function identity(id: string, targets: TokenTarget[]): Promise<FuzzIdentity> {
  const credentials = await admin.registerService(auth.adminCredential, {
    id,
    role: 'broker',
    topics: { pub: ['#'], sub: ['#'] },
  });
  const tokens: Partial<Record<TokenTarget, string>> = {};
  for (const target of targets) {
    tokens[target] = (await admin.issueToken(credentials, target)).token;
  }
  return { id, secret: credentials.secret, tokens };
}

const everyTarget: TokenTarget[] = ['auth', 'discovery', brokerTarget(BROKER_ID)];
const issueAll = async () => ({
  peers: await Promise.all(PEER_IDS.map((id) => identity(id, everyTarget))),
  writer: await identity(WRITER_ID, everyTarget),
  reader: await identity(READER_ID, everyTarget),
});

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await federation.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
}

process.on('message', (message: FuzzRequest) => {
  if (message.type === 'memory') {
    // Twice: the first pass may only queue finalizers whose objects the second frees.
    gc();
    gc();
    const usage = process.memoryUsage();
    send({ type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external });
  } else if (message.type === 'close') {
    void shutdown();
  }
});
// The fuzzer is gone (however it ended): so are we.
process.on('disconnect', () => void shutdown());

const ready: FuzzReady = {
  type: 'ready',
  pid: process.pid,
  authUrl: auth.url,
  discoveryUrl: discovery.url,
  watchUrl: discovery.watchUrl,
  brokerUrl: broker.url,
  linkUrl: broker.linkUrl,
  mqttUrl: broker.mqttUrl,
  adminCredential: auth.adminCredential,
  identities: await issueAll(),
};
send(ready);
