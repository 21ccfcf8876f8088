import type { MqttClient } from 'mqtt';
import type { ClientFactory, SubscriberConnection } from '../seams/client-factory.ts';
import { nowMs } from '../seams/run-clock.ts';
import { connectMqtt } from './mqtt-connect.ts';
import { publisherThread } from './publisher-thread.ts';

export type {
  ClientFactory,
  PublisherConnection,
  PublishLedgerReport,
  PublishReport,
  SubscriberConnection,
  SubscriberOptions,
} from '../seams/client-factory.ts';

function localSubscriber(client: MqttClient): SubscriberConnection {
  let ended = false;
  return {
    get connected() {
      return client.connected;
    },
    onMessage(listener) {
      client.on('message', (_topic, payload) => {
        if (!ended) listener(payload, nowMs());
      });
    },
    onConnectionChange(listener) {
      client.on('connect', () => listener(true));
      client.on('close', () => listener(false));
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
  async subscriber(url, clientId, options = {}) {
    return localSubscriber(
      await connectMqtt(url, clientId, options.reconnectMs, options.persistent ?? false),
    );
  },
  publisher: (url, clientId, reconnectMs) => publisherThread.publisher(url, clientId, reconnectMs),
};
