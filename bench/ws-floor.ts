// The floor under a peer link for `bench:memory`: bare WebSocket connections between two Node
// processes with the `ws` library mqfed's links use, and nothing of the federation on them. What
// one more connection costs here, a peer link cannot spend less on at either end; what a link
// spends above it is mqfed's own.
//
//   node bench/ws-floor.ts serve                        prints `ws ws://127.0.0.1:<port>`
//   node bench/ws-floor.ts dial <url> <warm> <steps>    opens and closes <warm> connections to
//                                                       <url>, then holds the first of <steps>
//                                                       (n,n,...) and prints `held <n>`; each
//                                                       SIGUSR2 tops it up to the next step
//
// Both exit when stdin closes: the bench holds it, so a floor outlives no bench.
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';

// As a link's WebSocket is set up (peer-dialer.ts, link-server.ts): no compression, a message
// handler on every socket.
const OPTIONS = { perMessageDeflate: false } as const;
const held: WebSocket[] = [];

async function dial(url: string, count: number): Promise<WebSocket[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const ws = new WebSocket(url, OPTIONS);
      ws.on('message', () => undefined);
      await once(ws, 'open');
      return ws;
    }),
  );
}

const [mode, url, warm, stepList] = process.argv.slice(2);
if (mode === 'serve') {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...OPTIONS });
  server.on('connection', (ws) => ws.on('message', () => undefined));
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`ws ws://127.0.0.1:${port}\n`);
} else if (mode === 'dial' && url !== undefined && stepList !== undefined) {
  // [design] Warmed up as the mqfed hub is (memory-phases.ts): the connections opened and closed
  // first compile the paths the measured ones run, so the slope is what one more costs. One
  // process for every step, as the hub is: a fresh process per step differed from the last by
  // more than 32 connections weigh.
  const warmed = await dial(url, Number(warm ?? 0));
  await Promise.all(
    warmed.map((ws) => {
      ws.close();
      return once(ws, 'close');
    }),
  );
  const steps = stepList.split(',').map(Number);
  let next = 0;
  const topUp = async () => {
    const step = steps[next++];
    if (step !== undefined && step > held.length)
      held.push(...(await dial(url, step - held.length)));
  };
  await topUp();
  process.on('SIGUSR2', () => void topUp());
  process.stdout.write(`held ${held.length}\n`);
} else {
  process.stderr.write('usage: ws-floor.ts serve | dial <url> <warm> <n,n,...>\n');
  process.exit(2);
}
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
