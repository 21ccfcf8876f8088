import { mosquittoBridgesTopology } from '../baselines/mosquitto-topology.ts';
import { processesTopology } from './processes.ts';

/**
 * A harness that is about to be killed, for child-guard.test.ts: it starts a topology of two
 * brokers (`processes`, or `mosquitto` for the bridged baseline), prints the process ids of the
 * services as one JSON line, and waits to be killed; it never closes what it started.
 */
const topology = process.argv[2] === 'mosquitto' ? mosquittoBridgesTopology() : processesTopology();
const started = await topology.start({ brokers: ['a', 'b'] });
process.stdout.write(`${JSON.stringify([...(started.processIds?.().values() ?? [])])}\n`);
setInterval(() => undefined, 60_000);
