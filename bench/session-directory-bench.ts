// `node --expose-gc bench/session-directory-bench.ts`: what one entry of discovery's session
// directory (system/discovery/session-directory.ts) costs in heap, and what a claim costs in
// time, so that `maxSessions` can be set from memory (docs/protocol.md, Sessions).
import { Command } from 'commander';
import { systemClock } from '../system/common/index.ts';
import { createSessionDirectory } from '../system/discovery/index.ts';
import { exposedGc } from './exposed-gc.ts';
import { positiveInt } from './flag-parsers.ts';

const flags = new Command('session-directory-bench')
  .description('Fill a session directory and report heap bytes per entry and time per claim.')
  .option('--entries <n>', 'sessions to claim', positiveInt, 1_000_000)
  .option('--brokers <n>', 'holders they are spread over', positiveInt, 10)
  .option('--id-length <n>', 'characters per client id (ASCII)', positiveInt, 24)
  .parse()
  .opts<{ entries: number; brokers: number; idLength: number }>();

const gc = exposedGc('bench:session-directory');

const { entries, brokers, idLength } = flags;
// Each claim brings a fresh id string, as a request does: the directory keeps it as its key, so
// the figure includes the ids.
const idOf = (i: number) => `c${i}`.padEnd(idLength, '-x');
const holders = Array.from({ length: brokers }, (_, b) => `broker-${b}`);

gc();
const before = process.memoryUsage().heapUsed;
const sessions = createSessionDirectory({
  clock: systemClock,
  maxSessionsPerBroker: entries,
  maxSessions: entries,
  orphanTtlMs: 24 * 60 * 60_000,
});
const started = process.hrtime.bigint();
for (let i = 0; i < entries; i++) sessions.claim(idOf(i), holders[i % brokers] as string);
const claimNs = Number(process.hrtime.bigint() - started) / entries;
gc();
const after = process.memoryUsage().heapUsed;

// Moves: every session to the next broker, the handover path.
const moveStarted = process.hrtime.bigint();
for (let i = 0; i < entries; i++) {
  sessions.claim(idOf(i), holders[(i + 1) % brokers] as string);
}
const moveNs = Number(process.hrtime.bigint() - moveStarted) / entries;

const perEntry = (after - before) / entries;
process.stdout.write(
  `${entries} entries, ${brokers} brokers, ids of ${idLength} characters\n` +
    `heap: ${(perEntry).toFixed(0)} bytes an entry, ${((after - before) / 2 ** 20).toFixed(0)} MiB in all\n` +
    `time: ${(claimNs / 1000).toFixed(2)} µs a new claim, ${(moveNs / 1000).toFixed(2)} µs a move\n`,
);
sessions.close();
