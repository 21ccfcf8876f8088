import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { startClientHostServer } from './topology/client-host-server.ts';
import { inProcessTopology } from './topology/in-process.ts';
import { runClientHost } from './workload/client-host-agent.ts';
import { decodeMessage, encodeMessage, type HarnessMessage, nowMs } from './workload/payload.ts';
import { SimulatedSubscriber } from './workload/simulated-subscriber.ts';

describe('a client host driven by the harness over its WebSocket', () => {
  it('runs a publisher schedule and a subscriber there, and streams back every arrival on the run clock', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a', 'b'] });
    await using server = await startClientHostServer('127.0.0.1');
    const agent = runClientHost(server.urlFor('vm-sub'));
    const publisherAgent = runClientHost(server.urlFor('vm-pub'));
    const subHost = await server.connected('vm-sub');
    const pubHost = await server.connected('vm-pub');
    // One machine, one clock: the measured offset is tiny, and was read over a real round trip.
    expect(Math.abs(subHost.clockOffsetMs)).toBeLessThan(5);
    expect(subHost.clockRoundTripMs).toBeGreaterThan(0);

    const received: { message: HarnessMessage; arrivalMs: number }[] = [];
    const subscriber = new SimulatedSubscriber(
      // A persistent session there, as the QoS 1 subscribers of a run have.
      { index: 0, id: 'sub-0', filters: ['remote/#'], qos: 1, persistent: true },
      'b',
      (_index, message, arrivalMs) => received.push({ message, arrivalMs }),
      'remote-test-',
      () => subHost,
    );
    await subscriber.connect(topology.endpoint('b').mqttUrl);
    expect(subscriber.connected).toBe(true);
    const publisher = await pubHost.publisher(topology.endpoint('a').mqttUrl, 'remote-test-pub');

    // Prime the route a → b with probes until one arrives, then run a schedule of 20 messages.
    const runId = 7;
    const probe = encodeMessage({ runId, publisher: 0, seq: 0, probe: true, scheduledMs: 0 }, 32);
    while (!received.some((r) => r.message.probe)) {
      publisher.probe(['remote/t'], probe);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const startMs = nowMs() + 100;
    const report = await publisher.run({
      runId,
      publisher: 0,
      rate: 100,
      count: 20,
      startMs,
      topics: ['remote/t'],
      qos: 1,
      payloadBytes: 32,
    });
    // The host's lateness against the schedule came back with the schedule's end.
    expect(report.sent).toBe(20);
    expect(report.lag.totalCount).toBe(20);
    while (received.filter((r) => !r.message.probe).length < 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const data = received.filter((r) => !r.message.probe);
    expect(data.map((r) => r.message.seq)).toEqual([...Array(20).keys()]);
    for (const { message, arrivalMs } of data) {
      // Sent on schedule on one host, stamped on arrival on another: a small positive delay.
      expect(arrivalMs - message.scheduledMs).toBeGreaterThan(0);
      expect(arrivalMs - message.scheduledMs).toBeLessThan(1_000);
    }
    expect(decodeMessage(encodeMessage(data[0]!.message, 32))).toEqual(data[0]!.message);
    // What the host's publisher handed over and had acknowledged comes back on request.
    await expect
      .poll(() => publisher.ledger())
      .toEqual({ handedOver: [0, 20], acknowledged: [0, 20] });

    await subscriber.close();
    await publisher.end();
    await server.close();
    await Promise.all([agent, publisherAgent]);
  });

  it('refuses a client host that does not know the run token', async () => {
    await using server = await startClientHostServer('127.0.0.1');
    const stranger = server.urlFor('vm-x').replace(/\/[0-9a-f]{32}\//, '/not-the-token/');
    await expect(runClientHost(stranger)).resolves.toBeUndefined();
    const late = Promise.race([
      server.connected('vm-x').then(() => 'connected'),
      new Promise((resolve) => setTimeout(() => resolve('refused'), 300)),
    ]);
    expect(await late).toBe('refused');
  });

  it('answers a broken frame with a coded line on stderr, and keeps serving', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const agent = runClientHost(`ws://127.0.0.1:${port}/t/h`);
      const [socket] = (await once(server, 'connection')) as [import('ws').WebSocket];
      socket.send('{not json');
      socket.send(JSON.stringify({ id: 1, op: 'end' }));
      socket.send(JSON.stringify({ id: 2, op: 'clock' }));
      const [reply] = await once(socket, 'message');
      expect(JSON.parse(String(reply))).toMatchObject({ id: 2, ok: true });
      expect(written.join('')).toMatch(/client-host: MALFORMED_JSON/);
      expect(written.join('')).toMatch(/client-host: INVALID_REQUEST: .*key/);
      socket.close();
      await agent;
    } finally {
      stderr.mockRestore();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
