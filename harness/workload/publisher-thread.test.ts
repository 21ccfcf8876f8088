import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { inProcessTopology } from '../topology/in-process.ts';
import { decodeMessage, encodeMessage, type HarnessMessage, nowMs } from './payload.ts';
import { PublisherThread } from './publisher-thread.ts';

describe('the publisher thread', () => {
  it('reads the very clock of the harness thread', async () => {
    const thread = new PublisherThread();
    const clocks = await thread.compareClocks();
    // Read at one instant within the round trip: the two clocks agree to half of it (plus a
    // rounding of the ms clock).
    expect(clocks.roundTripMs).toBeGreaterThan(0);
    expect(Math.abs(clocks.offsetMs)).toBeLessThanOrEqual(clocks.roundTripMs / 2 + 0.001);
    expect(Number.isFinite(clocks.rawOffsetMs)).toBe(true);
    expect(thread.active).toBe(false);
  });

  it('primes with probes and runs a QoS 1 schedule through MQTT, and reports every message’s lag', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const url = topology.endpoint('a').mqttUrl;
    const subscriber = await connectAsync(url, { reconnectPeriod: 0 });
    const received: HarnessMessage[] = [];
    subscriber.on('message', (_topic, payload) => received.push(decodeMessage(payload)!));
    await subscriber.subscribeAsync('pt/#', { qos: 1 });
    const thread = new PublisherThread();
    const publisher = await thread.publisher(url, 'pt-publisher');
    try {
      expect(thread.active).toBe(true);
      const probe = encodeMessage(
        { runId: 9, publisher: 0, seq: 0, probe: true, scheduledMs: 0 },
        40,
      );
      publisher.probe(['pt/a', 'pt/b'], probe);
      await expect.poll(() => received.filter((m) => m.probe).length).toBe(2);

      const startMs = nowMs() + 30;
      const report = await publisher.run({
        runId: 9,
        publisher: 0,
        rate: 400,
        count: 40,
        startMs,
        topics: ['pt/a'],
        qos: 1,
        payloadBytes: 40,
      });
      expect(report.sent).toBe(40);
      expect(report.lag.totalCount).toBe(40);
      await expect.poll(() => received.filter((m) => !m.probe).length).toBe(40);
      const data = received.filter((m) => !m.probe);
      expect(data.map((m) => m.seq)).toEqual([...Array(40).keys()]);
      for (const message of data) expect(message.scheduledMs).toBe(startMs + message.seq * 2.5);
      // Every message was handed over, and the broker acknowledged each (PUBACKs come after
      // the schedule ends, so the ledger is asked once they are in).
      await expect
        .poll(() => publisher.ledger())
        .toEqual({ handedOver: [0, 40], acknowledged: [0, 40] });
    } finally {
      await publisher.end();
      await subscriber.endAsync(true);
    }
  });

  it('ends its worker when the last publisher ends, and starts a new one when needed', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const url = topology.endpoint('a').mqttUrl;
    const thread = new PublisherThread();
    const first = await thread.publisher(url, 'pt-1');
    const second = await thread.publisher(url, 'pt-2');
    await first.end();
    expect(thread.active).toBe(true);
    await second.end();
    await second.end(); // twice is once
    expect(thread.active).toBe(false);

    const again = await thread.publisher(url, 'pt-3');
    expect(thread.active).toBe(true);
    const report = await again.run({
      runId: 1,
      publisher: 0,
      rate: 1_000,
      count: 5,
      startMs: nowMs() + 20,
      topics: ['pt/x'],
      qos: 0,
      payloadBytes: 24,
    });
    expect(report.sent).toBe(5);
    await again.end();
    expect(thread.active).toBe(false);
  });

  it('ends a schedule still running when its publisher ends, with what it sent', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const thread = new PublisherThread();
    const publisher = await thread.publisher(topology.endpoint('a').mqttUrl, 'pt-stop');
    const running = publisher.run({
      runId: 1,
      publisher: 0,
      rate: 100,
      count: 10_000,
      startMs: nowMs() + 20,
      topics: ['pt/x'],
      qos: 0,
      payloadBytes: 24,
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await publisher.end();
    const report = await running;
    expect(report.sent).toBeGreaterThan(0);
    expect(report.sent).toBeLessThan(10_000);
    expect(report.lag.totalCount).toBe(report.sent);
    expect(thread.active).toBe(false);
  });

  it('ends a stopped schedule only after what it sent has left, so none of it is lost', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const broker = new URL(topology.endpoint('a').mqttUrl);
    // A relay that can stop reading from the publisher: its writes then pile up in the kernel
    // and, past that, in the publisher's own socket, as they do in front of a broker that falls
    // behind.
    let fromPublisher: Socket | undefined;
    const relay = createServer((inbound) => {
      fromPublisher = inbound;
      const outbound = connect(Number(broker.port), broker.hostname);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const { port } = relay.address() as AddressInfo;
    const subscriber = await connectAsync(topology.endpoint('a').mqttUrl, { reconnectPeriod: 0 });
    const seen = new Set<number>();
    subscriber.on('message', (_topic, payload) => {
      const message = decodeMessage(payload);
      if (message !== undefined && !message.probe) seen.add(message.seq);
    });
    await subscriber.subscribeAsync('pt/held', { qos: 0 });
    const thread = new PublisherThread();
    const publisher = await thread.publisher(`mqtt://127.0.0.1:${port}`, 'pt-held');
    try {
      const running = publisher.run({
        runId: 3,
        publisher: 0,
        rate: 20_000,
        count: 1_000_000,
        startMs: nowMs() + 20,
        topics: ['pt/held'],
        qos: 0,
        payloadBytes: 1_000,
      });
      await expect.poll(() => seen.size, { timeout: 10_000 }).toBeGreaterThan(100);
      fromPublisher!.pause();
      // Long enough for the kernel's buffers to fill at 20 MB/s.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const ended = publisher.end();
      const report = await running;
      fromPublisher!.resume();
      await ended;
      await expect.poll(() => seen.size, { timeout: 15_000 }).toBe(report.sent);
    } finally {
      await publisher.end();
      await subscriber.endAsync(true);
      relay.close();
    }
  }, 30_000);

  it('leaves no worker behind when the connection fails', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const url = topology.endpoint('a').mqttUrl;
    await topology.stop('a');
    const thread = new PublisherThread();
    await expect(thread.publisher(url, 'pt-refused')).rejects.toThrow();
    expect(thread.active).toBe(false);
  });

  it('does not keep a process alive with a publisher left open', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const module = new URL('./publisher-thread.ts', import.meta.url).href;
    const script = `
      const { publisherThread } = await import(${JSON.stringify(module)});
      await publisherThread.publisher(${JSON.stringify(topology.endpoint('a').mqttUrl)}, 'pt-left-open');
      console.log(publisherThread.active);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    const timer = setTimeout(() => child.kill(), 15_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    // It connected, said so, and exited of itself: the idle worker held nothing open.
    expect(output.trim()).toBe('true');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
