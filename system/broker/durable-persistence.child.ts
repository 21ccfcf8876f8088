/**
 * An aedes broker on the durable persistence, alone in a process, so that a test can kill it
 * the way the operating system would (SIGKILL) and start it again on the same file.
 * Arguments: the store's path, then aedes' heartbeatInterval in ms (its will sweep runs every
 * four of them). Prints `listening <port>` once it accepts MQTT connections on 127.0.0.1, then
 * `will deleted <client id>` whenever a stored will is deleted, and exits when its stdin closes:
 * the test process that holds the other end is gone.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { createDurablePersistence } from './durable-persistence.ts';

const [path, heartbeatInterval = '60000'] = process.argv.slice(2);
if (path === undefined)
  throw new Error('usage: durable-persistence.child.ts <path> [heartbeat ms]');

const orphaned = () => process.exit(0);
process.stdin.once('end', orphaned).once('error', orphaned).resume();

const persistence = createDurablePersistence({ path });
// aedes deletes a will after it published it, a few turns after the subscribers got it: the line
// lets a test wait for that instead of guessing.
const delWill = persistence.delWill.bind(persistence);
persistence.delWill = async (client) => {
  const will = await delWill(client);
  if (will !== undefined) process.stdout.write(`will deleted ${client.id}\n`);
  return will;
};
// A fixed id, as the broker service gives it: the restarted broker is the same broker.
const aedes = await Aedes.createBroker({
  id: 'durable-broker',
  persistence,
  heartbeatInterval: Number(heartbeatInterval),
});
const server = createServer((socket) => aedes.handle(socket));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.stdout.write(`listening ${address.port}\n`);
});
