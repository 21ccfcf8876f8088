import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate, requestJson } from '../common/index.ts';
import {
  type Ack,
  connectClient,
  learnsInterest,
  nextEvent,
  startTestFederation,
} from './broker.fixtures.ts';
import { startMqttServer } from './mqtt-server.ts';
import { dialPeer } from './peer-dialer.ts';

/** Connecting must fail with a TLS verification error; the code names which. */
async function refusedTls(url: string, options: mqtt.IClientOptions = {}): Promise<string> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  try {
    const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
      client.once('error', (error) => resolve(error as NodeJS.ErrnoException)),
    );
    return String(error.code);
  } finally {
    client.end(true);
  }
}

describe('TLS on every hop', () => {
  it('a federation over TLS delivers across brokers to MQTTS and MQTT-over-WSS subscribers', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      tls: true,
      broker: { mqttWsPort: 0 },
    });
    const { ca } = federation;
    const a = federation.broker('a');
    const b = federation.broker('b');
    expect(federation.auth.url).toMatch(/^https:\/\//);
    expect(federation.discovery.url).toMatch(/^https:\/\//);
    expect(federation.discovery.watchUrl).toMatch(/^wss:\/\//);
    expect(a.linkUrl).toMatch(/^wss:\/\//);
    expect(b.mqttsUrl).toMatch(/^mqtts:\/\//);
    expect(b.mqttWsUrl).toMatch(/^wss:\/\//);
    // The plain listener stays, on loopback only.
    expect(new URL(a.mqttUrl).hostname).toBe('127.0.0.1');

    await using publisher = await connectClient(a.mqttsUrl ?? '', { ca });
    await using overTls = await connectClient(b.mqttsUrl ?? '', { ca });
    await using overWss = await connectClient(b.mqttWsUrl ?? '', { ca });
    const linked = nextEvent<Ack>(b.events, 'subscribe-ack', (event) => event.peer === 'a');
    await overTls.subscribe('plant/#');
    await overWss.subscribe('plant/#');
    await publisher.publish('plant/p1', 'announce');
    expect((await linked).granted).toEqual(['plant/#']);
    await publisher.publish('plant/p1', 'over tls');
    for (const subscriber of [overTls, overWss]) {
      const before = subscriber.received.filter((m) => m.payload.toString() === 'announce').length;
      const got = await subscriber.receivedCount(before + 1, 10_000);
      expect(got.at(-1)?.payload.toString()).toBe('over tls');
    }
    expect(b.links().find((link) => link.peer === 'a')?.state).toBe('open');
  });

  it('refuses clients that do not trust the CA, on MQTTS, WSS and HTTPS', async () => {
    await using federation = await startTestFederation({
      brokers: ['a'],
      tls: true,
      broker: { mqttWsPort: 0 },
    });
    const a = federation.broker('a');
    const other = createCertificateAuthority('another CA');
    expect(await refusedTls(a.mqttsUrl ?? '')).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
    expect(await refusedTls(a.mqttsUrl ?? '', { ca: other.cert })).toMatch(
      /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/,
    );
    expect(await refusedTls(a.mqttWsUrl ?? '', { ca: other.cert })).toMatch(
      /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/,
    );
    await expect(
      requestJson(`${federation.auth.url}/healthz`, { tls: { ca: other.cert } }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/) });
    // The CA it was made with is trusted.
    await expect(
      requestJson(`${federation.auth.url}/healthz`, { tls: { ca: federation.ca ?? '' } }),
    ).resolves.toEqual({ status: 'ok' });
  });

  it('refuses a certificate made for another host', async () => {
    const ca = createCertificateAuthority();
    const elsewhere = issueCertificate(ca, { commonName: 'x', hosts: ['elsewhere.example'] });
    const server = await startMqttServer({
      id: 'x',
      host: '127.0.0.1',
      port: 0,
      tls: elsewhere,
      tlsPort: 0,
      wsPort: 0,
    });
    try {
      expect(await refusedTls(server.mqttsUrl ?? '', { ca: ca.cert })).toBe(
        'ERR_TLS_CERT_ALTNAME_INVALID',
      );
      // A peer link dialled to it fails the same way, before any token is shown.
      const dialed = dialPeer((server.wsUrl ?? '').replace('/mqtt', '/peer'), 'token', 1024, {
        ca: ca.cert,
      });
      await expect(dialed).rejects.toMatchObject({
        code: 'PEER_UNREACHABLE',
        message: expect.stringContaining('altnames'),
      });
    } finally {
      await server.close();
    }
  });

  it('binds plain MQTT to a non-loopback address only when insecure is set', async () => {
    await expect(startMqttServer({ id: 'p', host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'PLAIN_LISTENER_NOT_LOOPBACK',
    });
    await expect(
      startMqttServer({ id: 'p', host: '127.0.0.1', port: 0, wsPort: 0, plainHost: '::' }),
    ).rejects.toMatchObject({ code: 'PLAIN_LISTENER_NOT_LOOPBACK' });
    const insecure = await startMqttServer({ id: 'p', host: '0.0.0.0', port: 0, insecure: true });
    await insecure.close();
  });

  it('mosquitto_sub with --cafile receives what an MQTTS client publishes on another broker', async () => {
    await using federation = await startTestFederation({ brokers: ['a', 'b'], tls: true });
    const a = federation.broker('a');
    const b = federation.broker('b');
    const learned = learnsInterest(a, 'b', 'meter/#');
    const child: ChildProcessWithoutNullStreams = spawn(
      'stdbuf',
      [
        ...['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', new URL(b.mqttsUrl ?? '').port],
        ...['--cafile', federation.caPath ?? '', '-t', 'meter/#', '-C', '1', '-W', '30'],
      ],
      { stdio: 'pipe' },
    );
    const exited = once(child, 'exit');
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await learned;
      await using publisher = await connectClient(a.mqttsUrl ?? '', { ca: federation.ca ?? '' });
      // QoS 1 into a's outbox: the link to b may still be opening when the first one goes.
      await publisher.publish('meter/1', 'reading 42', 1);
      const [code] = await exited;
      expect(output).toContain('reading 42');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
