import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../system/common/index.ts';
import { startDelayProxy } from './delay-proxy.ts';

async function startEchoServer(): Promise<Server & AsyncDisposable> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Sends `messages` through the proxy to the echo server; answers what came back and when. */
async function roundTrip(port: number, messages: string[]) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const expected = messages.join('');
  const started = performance.now();
  let received = '';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= expected.length) resolve();
    });
  });
  for (const message of messages) socket.write(message);
  await done;
  const elapsedMs = performance.now() - started;
  socket.destroy();
  return { received, elapsedMs };
}

describe('the delay proxy impairs the link between two hosts', () => {
  it('adds the one-way delay in each direction', async () => {
    await using echo = await startEchoServer();
    const target = { host: '127.0.0.1', port: (echo.address() as AddressInfo).port };
    await using proxy = await startDelayProxy({
      target,
      forward: { delayMs: 40 },
      backward: { delayMs: 20 },
    });
    const { received, elapsedMs } = await roundTrip(proxy.port, ['ping']);
    expect(received).toBe('ping');
    expect(elapsedMs).toBeGreaterThanOrEqual(60);
  });

  it('never reorders a stream, however large the jitter', async () => {
    await using echo = await startEchoServer();
    const target = { host: '127.0.0.1', port: (echo.address() as AddressInfo).port };
    await using proxy = await startDelayProxy({
      target,
      forward: { delayMs: 1, jitterMs: 30 },
      random: seededRandom(7),
    });
    const messages = Array.from({ length: 50 }, (_, index) => `<${index}>`);
    const { received } = await roundTrip(proxy.port, messages);
    expect(received).toBe(messages.join(''));
  });

  it('charges a lost chunk a retransmission delay instead of dropping its bytes', async () => {
    await using echo = await startEchoServer();
    const target = { host: '127.0.0.1', port: (echo.address() as AddressInfo).port };
    await using proxy = await startDelayProxy({
      target,
      forward: { delayMs: 0, loss: 1, lossPenaltyMs: 80 },
      backward: { delayMs: 0 },
    });
    const { received, elapsedMs } = await roundTrip(proxy.port, ['data']);
    expect(received).toBe('data');
    expect(elapsedMs).toBeGreaterThanOrEqual(80);
  });

  it('refuses an impossible impairment with INVALID_REQUEST', async () => {
    await expect(
      startDelayProxy({ target: { host: '127.0.0.1', port: 1 }, forward: { delayMs: 1, loss: 2 } }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('asks a target function at each connection, and refuses the connection when it throws', async () => {
    await using first = await startEchoServer();
    let current: number | undefined = (first.address() as AddressInfo).port;
    await using proxy = await startDelayProxy({
      target: () => {
        if (current === undefined) throw new Error('stopped');
        return { host: '127.0.0.1', port: current };
      },
      forward: { delayMs: 0 },
    });
    expect((await roundTrip(proxy.port, ['one'])).received).toBe('one');

    current = undefined;
    const refused = connect(proxy.port, '127.0.0.1');
    refused.on('error', () => {});
    await once(refused, 'close');
    expect(refused.bytesRead).toBe(0);

    await using second = await startEchoServer();
    current = (second.address() as AddressInfo).port;
    expect((await roundTrip(proxy.port, ['two'])).received).toBe('two');
  });
});
