import { connect, type Socket } from 'node:net';
import mqtt, { type IClientOptions } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { createAuthClient, type ServiceCredentials } from '../auth/index.ts';
import type { TopicScopes } from '../protocol/index.ts';
import type { TestFederation } from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';

/** Shared pieces of the MQTT client tests: registered clients, metrics, a raw MQTT socket. */

/** Registers an MQTT client (role `client`) with `scopes`; answers its id and secret. */
export function registerClient(
  federation: TestFederation,
  id: string,
  scopes: TopicScopes,
): Promise<ServiceCredentials> {
  return createAuthClient({ url: federation.auth.url }).registerService(
    federation.auth.adminCredential,
    { id, role: 'client', topics: scopes },
  );
}

/** The broker's plain MQTT URL, dialed on loopback even when it listens on every address. */
export function loopbackUrl(broker: BrokerService): string {
  return broker.mqttUrl.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]');
}

/** `mqfed_broker_client_refusals_total{reason}` as the broker's /metrics shows it now. */
export async function refusals(broker: BrokerService, reason: string): Promise<number> {
  const text = await (await fetch(`${broker.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('mqfed_broker_client_refusals_total{') && l.includes(`reason="${reason}"`),
    );
  if (line === undefined) throw new Error(`no refusal count for ${reason} on /metrics`);
  return Number(line.split(' ').at(-1));
}

export interface RawMqtt extends AsyncDisposable {
  readonly socket: Socket;
  /** Every packet received so far. */
  readonly packets: Packet[];
  send(packet: Packet): void;
  /** Resolves once `count` packets of `cmd` arrived (in total), or fails after `timeoutMs`. */
  received(cmd: Packet['cmd'], count: number, timeoutMs?: number): Promise<Packet[]>;
  /** Resolves when the broker closed the connection. */
  readonly closed: Promise<void>;
}

/**
 * A bare MQTT 3.1.1 connection (mqtt-packet over a TCP socket), for what MQTT.js will not do:
 * withhold PUBACKs, announce a packet bigger than it sends. It has sent CONNECT and read CONNACK.
 */
export async function rawMqtt(
  url: string,
  clientId: string,
  credentials?: { username: string; password: string },
): Promise<RawMqtt> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  const waiters = new Set<() => void>();
  parser.on('packet', (packet) => {
    packets.push(packet);
    for (const wake of waiters) wake();
  });
  socket.on('data', (chunk) => parser.parse(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const raw: RawMqtt = {
    socket,
    packets,
    send(packet) {
      socket.write(mqttPacket.generate(packet));
    },
    received(cmd, count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const matching = packets.filter((p) => p.cmd === cmd);
          if (matching.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(matching);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = packets.filter((p) => p.cmd === cmd).length;
          reject(new Error(`received ${got} of ${count} ${cmd} packets in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closed,
    async [Symbol.asyncDispose]() {
      socket.destroy();
      await closed;
    },
  };
  raw.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 60,
    ...(credentials === undefined
      ? {}
      : { username: credentials.username, password: Buffer.from(credentials.password) }),
  });
  const [connack] = await raw.received('connack', 1);
  if ((connack as { returnCode?: number }).returnCode !== 0) {
    throw new Error(`CONNACK ${(connack as { returnCode?: number }).returnCode}`);
  }
  return raw;
}

/** The CONNACK return code a CONNECT with `options` gets: 0 when it was accepted. */
export async function connackOf(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
    await client.endAsync(true);
    return 0;
  } catch (error) {
    const { code } = error as { code?: unknown };
    if (typeof code === 'number') return code;
    throw error;
  }
}
