// Idle MQTT clients for `bench:memory`, run as a child process: raw TCP sockets that each send one
// CONNECT (and, with --topics, one SUBSCRIBE), then only PINGREQs. [design] No MQTT.js: its
// per-client objects and timers would make the generator, not the broker, the limit at 10,000
// clients; this keeps a socket and a packet parser per client.
//
//   node bench/idle-clients.ts --url mqtt://127.0.0.1:1883 --count 5000 [--topics 1000]
//
// Prints `progress <connected>` now and then, `ready <connected> <refused>` once every client
// has its CONNACK (and SUBACK), and holds the connections until its stdin closes.
import { connect, type Socket } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import mqttPacket from 'mqtt-packet';

interface Flags {
  url: string;
  count: number;
  prefix: string;
  topics: number;
  keepalive: number;
  window: number;
}

function count(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new InvalidArgumentError('expected an integer ≥ 0.');
  return number;
}

const flags = new Command('idle-clients')
  .description('Hold idle MQTT 3.1.1 clients on one broker')
  .requiredOption('--url <url>', 'mqtt://host:port of the broker')
  .requiredOption('--count <n>', 'clients to connect', count)
  .option('--prefix <id>', 'client ids are <prefix>-<i>', `idle-${process.pid}`)
  .option('--topics <n>', 'subscribe each client to one of this many topics (0: none)', count, 0)
  .option('--keepalive <s>', 'MQTT keepalive, seconds; a PINGREQ goes at half of it', count, 60)
  .option('--window <n>', 'connections being set up at once', count, 100)
  .parse()
  .opts<Flags>();

const target = new URL(flags.url);
const PINGREQ = mqttPacket.generate({ cmd: 'pingreq' });
const sockets: Socket[] = [];
let connected = 0;
let refused = 0;
let next = 0;
let lastShown = 0;

/** One client: resolves true once the broker took it (CONNACK 0, and SUBACK when subscribing). */
function client(index: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode !== 0) return settle(false);
        if (flags.topics === 0) return settle(true);
        const topic = `mem/idle/${index % flags.topics}`;
        socket.write(
          mqttPacket.generate({
            cmd: 'subscribe',
            messageId: 1,
            subscriptions: [{ topic, qos: 0 }],
          }),
        );
      } else if (packet.cmd === 'suback') {
        settle(packet.granted[0] !== 0x80);
      }
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => settle(false));
    socket.on('close', () => settle(false));
    socket.once('connect', () => {
      socket.setNoDelay(true);
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: `${flags.prefix}-${index}`,
          keepalive: flags.keepalive,
        }),
      );
    });
    sockets.push(socket);
  });
}

async function worker(): Promise<void> {
  while (next < flags.count) {
    const index = next++;
    if (await client(index)) connected += 1;
    else refused += 1;
    if (connected - lastShown >= 500) {
      lastShown = connected;
      process.stdout.write(`progress ${connected}\n`);
    }
  }
}

// Keepalive: every client pings at half its keepalive, spread evenly over that time.
const periodMs = (flags.keepalive * 1000) / 2;
const TICK_MS = 1000;
let cursor = 0;
if (flags.keepalive > 0) {
  setInterval(() => {
    const share = Math.ceil((sockets.length * TICK_MS) / periodMs);
    for (let i = 0; i < share && sockets.length > 0; i++) {
      const socket = sockets[cursor++ % sockets.length]!;
      if (!socket.destroyed) socket.write(PINGREQ);
    }
  }, TICK_MS);
}

process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
await Promise.all(Array.from({ length: Math.max(1, flags.window) }, worker));
process.stdout.write(`ready ${connected} ${refused}\n`);
