// A zero-logic TCP relay, run as its own process: every connection it accepts is piped both ways
// to --target. The link bench routes a subscriber through it to measure what one extra process hop
// costs by itself (the floor any federation hop is compared with).
//
//   node bench/tcp-relay.ts --target 127.0.0.1:1883 [--port 0]   prints `relay mqtt://host:port`
//
// It exits on SIGTERM or SIGINT, and with --exit-with-stdin also when its stdin closes: the bench
// passes that flag, so a relay outlives no bench, even one killed with SIGKILL.
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';

interface RelayFlags {
  target: { host: string; port: number };
  host: string;
  port: number;
  exitWithStdin: boolean;
}

function parseTarget(value: string): RelayFlags['target'] {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidArgumentError('expected host:port.');
  }
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port from 0 to 65535.');
  }
  return port;
}

const flags = new Command('tcp-relay')
  .description('Pipe every accepted TCP connection both ways to a target')
  .requiredOption('--target <host:port>', 'where to forward connections', parseTarget)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0 picks a free one)', parsePort, 0)
  .option('--exit-with-stdin', 'exit when stdin closes (for a parent process to hold)', false)
  .parse()
  .opts<RelayFlags>();

const sockets = new Set<Socket>();
const track = (socket: Socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
};

const server = createServer({ noDelay: true }, (client) => {
  // [design] Nagle off on both legs, as ws does for the peer link: the relay must not batch
  // small messages, or it would measure TCP's coalescing rather than the cost of a process hop.
  const upstream = connect({ host: flags.target.host, port: flags.target.port, noDelay: true });
  track(client);
  track(upstream);
  client.pipe(upstream);
  upstream.pipe(client);
  // Either side failing ends both: a relay that keeps half a connection would hide the failure.
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
});

server.listen(flags.port, flags.host, () => {
  const { address, family, port } = server.address() as AddressInfo;
  process.stdout.write(`relay mqtt://${family === 'IPv6' ? `[${address}]` : address}:${port}\n`);
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  for (const socket of sockets) socket.destroy();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The flag, or the harness's environment for the processes it starts (EXIT_WITH_HARNESS_ENV).
if (flags.exitWithStdin || process.env.MQFED_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', stop).on('error', stop).resume();
}
