import type { Socket } from 'node:net';
import {
  connect,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
  type Packet,
} from 'mqtt';
import { caOfBrokerUrl } from '../broker-url.ts';
import type { Handshake } from '../seams/client-factory.ts';
import { nowMs } from '../seams/run-clock.ts';

/**
 * Connects one simulated client with MQTT.js (MQTT 3.1.1, clean session unless `persistent`).
 * [design] No automatic reconnect by default: a client that reconnected behind our back would
 * hide a broken connection as plain loss; mobile clients reconnect explicitly, and their gap is
 * measured. Fault scenarios ask for `reconnectMs`, as devices reconnect to a broker that crashed;
 * QoS 0 messages are then not queued while offline (they are lost, as on a device), QoS 1 ones
 * are: MQTT.js keeps every QoS 1 publish in its outgoing store until its PUBACK and sends the
 * store again on each reconnect, clean session or not (mqtt 5, `_onConnect`), which is the
 * publisher's half of at-least-once.
 * A `persistent` client (`clean: false`, the subscribers of QoS 1 variants) is the other half:
 * the broker keeps its session while it is away and delivers what was queued for it when it
 * comes back; should the broker have lost the session (no data directory), MQTT.js sees no
 * session in the CONNACK and subscribes again by itself.
 */
export async function connectMqtt(
  url: string,
  clientId: string,
  reconnectMs?: number,
  persistent = false,
): Promise<MqttClient> {
  return (
    await openMqtt(url, clientId, {
      ...(reconnectMs === undefined ? {} : { reconnectMs }),
      persistent,
    })
  ).client;
}

/** What `openMqtt` is asked for besides the URL and client id. */
export interface OpenOptions {
  reconnectMs?: number;
  persistent?: boolean;
  /**
   * Told of every message from the very first packet after the CONNACK. [design] Set before the
   * connection exists: a persistent session's queued messages follow its CONNACK in the same
   * read, and a listener added once the connect promise resolved would miss them.
   */
  onMessage?: (payload: Buffer, packet: IPublishPacket) => void;
}

/**
 * Connects like `connectMqtt` and also says how the handshake went: when the CONNECT left and
 * the CONNACK came back (the run's clock), and whether the broker had a session for the client.
 * A connection that closes before its CONNACK (no automatic reconnect) fails instead of hanging.
 */
export async function openMqtt(
  url: string,
  clientId: string,
  options: OpenOptions = {},
): Promise<{ client: MqttClient; handshake: Handshake }> {
  // An mqtts:// URL may name its CA file (broker-url.ts).
  const trusted = caOfBrokerUrl(url);
  const reconnectPeriod = options.reconnectMs ?? 0;
  const client = connect(trusted.url, {
    ...(trusted.ca === undefined ? {} : { ca: trusted.ca }),
    clientId,
    clean: options.persistent !== true,
    protocolVersion: 4,
    reconnectPeriod,
    queueQoSZero: false,
    connectTimeout: 10_000,
    // Connected below, once the listeners are on: the CONNECT is written as the socket is made.
    manualConnect: true,
  });
  let connectSentMs = Number.NaN;
  const onSend = (packet: Packet) => {
    if (packet.cmd === 'connect') connectSentMs = nowMs();
  };
  client.on('packetsend', onSend);
  const { onMessage } = options;
  if (onMessage !== undefined) {
    client.on('message', (_topic, payload, packet) => onMessage(payload, packet));
  }
  const handshake = await new Promise<Handshake>((resolve, reject) => {
    const settle = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      client.off('packetsend', onSend);
    };
    const onConnect = (connack: IConnackPacket) => {
      const connackMs = nowMs();
      settle();
      resolve({
        connectSentMs: Number.isNaN(connectSentMs) ? connackMs : connectSentMs,
        connackMs,
        sessionPresent: connack.sessionPresent,
      });
    };
    const onError = (error: Error) => {
      settle();
      client.end(true);
      reject(error);
    };
    const onClose = () => {
      if (reconnectPeriod === 0) onError(new Error(`connection to ${url} closed before CONNACK`));
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
    client.connect();
  });
  // Errors after connecting (a broker stopped mid-run) show as loss and in `connected`.
  client.on('error', () => {});
  // [design] MQTT.js leaves Nagle on; small publishes would then wait for the broker's delayed
  // ACK, and that wait would be measured as broker delay.
  (client.stream as Socket).setNoDelay?.(true);
  return { client, handshake };
}

/**
 * Runs `task` up to `attempts` times, waiting `backoffMs` × attempt between tries, and throws the
 * last error. [design] For a crowd's first connects: on a loaded machine one CONNACK in twenty
 * thousand can miss its 10 s timeout, and without a retry that one client failed the whole run.
 * Only where a fresh attempt is harmless: each try is a new connection.
 */
export async function withRetries<R>(
  task: () => Promise<R>,
  attempts = 3,
  backoffMs = 1_000,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt));
    }
  }
}

/** Runs `task` over `items`, at most `limit` at a time: thousands of connects without a storm. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
