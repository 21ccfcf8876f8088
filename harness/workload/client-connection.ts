import type { MqttClient } from 'mqtt';
import { connectMqtt } from './mqtt-connect.ts';
import { OpenLoopPublisher, type PublisherSchedule } from './open-loop-publisher.ts';
import { nowMs } from './payload.ts';

/** One subscriber's MQTT connection, wherever it runs. */
export interface SubscriberConnection {
  readonly connected: boolean;
  /** Every message, with the time it arrived (`nowMs` clock of the run). */
  onMessage(listener: (payload: Buffer, arrivalMs: number) => void): void;
  /** The connection going down (a broker crash) and up again (a reconnect). */
  onConnectionChange(listener: (connected: boolean) => void): void;
  subscribe(filters: readonly string[], qos: 0 | 1): Promise<void>;
  /** Ends it at once (no goodbye); no message reaches the listener after this is called. */
  end(): Promise<void>;
}

/** One publisher's MQTT connection, wherever it runs; the schedule runs where it is. */
export interface PublisherConnection {
  /** Sends one probe (QoS 0) to each topic: priming, before the schedule. */
  probe(topics: readonly string[], payload: Buffer): void;
  /** Runs an open-loop schedule to its end. */
  run(schedule: PublisherSchedule): Promise<void>;
  end(): Promise<void>;
}

/**
 * Where simulated clients are made: in this process, or on a client host (a container) that the
 * harness drives. [design] The workload is written against this seam only, so a scenario runs
 * the same whether its client hosts are emulated in the harness or are containers of their own.
 */
export interface ClientFactory {
  /** For clients on another host: that host's clock against the harness's, as measured. */
  readonly clock?: { offsetMs: number; roundTripMs: number };
  subscriber(url: string, clientId: string, reconnectMs?: number): Promise<SubscriberConnection>;
  publisher(url: string, clientId: string, reconnectMs?: number): Promise<PublisherConnection>;
}

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

function localPublisher(client: MqttClient): PublisherConnection {
  return {
    probe(topics, payload) {
      for (const topic of topics) client.publish(topic, payload, { qos: 0 });
    },
    run: (schedule) => new OpenLoopPublisher(client, schedule).run(),
    end: () => client.endAsync(true),
  };
}

/** Clients in this process, with MQTT.js. */
export const localClients: ClientFactory = {
  async subscriber(url, clientId, reconnectMs) {
    return localSubscriber(await connectMqtt(url, clientId, reconnectMs));
  },
  async publisher(url, clientId, reconnectMs) {
    return localPublisher(await connectMqtt(url, clientId, reconnectMs));
  },
};
