// The floor under an mqfed broker for `bench:memory`: a plain aedes broker (the MQTT broker a
// broker service embeds) on a plain TCP server, nothing of the federation around it. What an idle
// client costs here, mqfed's broker cannot spend less on; what it spends above it is its own.
//
//   node bench/aedes-floor.ts     prints `aedes mqtt://127.0.0.1:<port>`; exits when stdin closes
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const aedes = await Aedes.createBroker();
const server = createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`aedes mqtt://127.0.0.1:${port}\n`);
});
// The bench holds stdin: this floor outlives no bench.
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
