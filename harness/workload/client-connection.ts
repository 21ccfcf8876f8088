import type {
  ClientFactory,
  MessageListener,
  SubscriberConnection,
  SubscriberOptions,
} from '../seams/client-factory.ts';
import { nowMs } from '../seams/run-clock.ts';
import { openMqtt } from './mqtt-connect.ts';
import { publisherThread } from './publisher-thread.ts';

export type {
  ClientFactory,
  Handshake,
  MessageListener,
  PublisherConnection,
  PublishLedgerReport,
  PublishReport,
  SubscriberConnection,
  SubscriberOptions,
} from '../seams/client-factory.ts';

/**
 * A subscriber in this process. Messages are taken from the first packet on (`openMqtt`) and
 * held until a listener is set, so none is lost between the CONNACK and `onMessage`.
 */
async function localSubscriber(
  url: string,
  clientId: string,
  options: SubscriberOptions,
): Promise<SubscriberConnection> {
  let ended = false;
  let listener: MessageListener | undefined;
  const early: [Buffer, number, boolean][] = [];
  const { client, handshake } = await openMqtt(url, clientId, {
    ...options,
    onMessage: (payload, packet) => {
      if (ended) return;
      const arrivalMs = nowMs();
      if (listener === undefined) early.push([payload, arrivalMs, packet.dup]);
      else listener(payload, arrivalMs, packet.dup);
    },
  });
  return {
    get connected() {
      return client.connected;
    },
    handshake,
    onMessage(next) {
      listener = next;
      for (const [payload, arrivalMs, dup] of early.splice(0)) next(payload, arrivalMs, dup);
    },
    onConnectionChange(change) {
      client.on('connect', () => change(true));
      client.on('close', () => change(false));
    },
    async subscribe(filters, qos) {
      await client.subscribeAsync([...filters], { qos });
    },
    async end() {
      ended = true;
      client.removeAllListeners('message');
      await client.endAsync(true);
    },
  };
}

/**
 * Clients in this process, with MQTT.js. Subscribers live on this thread; publishers live in
 * the publisher worker of the process (publisher-thread.ts), whose scheduler keeps their
 * schedules to a few µs without blocking this thread, where arrivals are stamped.
 */
export const localClients: ClientFactory = {
  subscriber: (url, clientId, options = {}) => localSubscriber(url, clientId, options),
  publisher: (url, clientId, reconnectMs) => publisherThread.publisher(url, clientId, reconnectMs),
};
