import mqtt, { type MqttClient } from 'mqtt';

/** Topics the local publisher uses; fuzzing peers subscribe `fuzz/out/#` now and then. */
export const LOCAL_TOPIC_PREFIX = 'fuzz/out/';
/** Publishes per burst, one burst per event-loop turn of the fuzzer at most. */
const BURST = 20;
const INTERVAL_MS = 10;

export interface LocalPublisher {
  /** Messages handed to the client. */
  readonly published: number;
  /** Why it does not run, when it does not (e.g. the broker refused the connection). */
  readonly off: string | undefined;
  stop(): Promise<void>;
}

/**
 * An MQTT client publishing on the broker under fuzzing while its peer links are fuzzed, so the
 * broker has QoS 0 and QoS 1 publishes queued for the fuzzing peers that subscribed: their
 * PUBACKs of any number then meet a live outbox. [design] A modest fixed rate (about 2,000/s):
 * it feeds the outbox, it is not a load test.
 */
export async function startLocalPublisher(mqttUrl: string): Promise<LocalPublisher> {
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(mqttUrl, {
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      clientId: 'fuzz-local-publisher',
    });
  } catch (error) {
    return {
      published: 0,
      off: `not connected: ${(error as Error).message}`,
      stop: async () => {},
    };
  }
  client.on('error', () => {});
  let published = 0;
  let off: string | undefined;
  let stopping = false;
  client.on('close', () => {
    if (!stopping) off ??= 'the broker closed the connection';
  });
  const timer = setInterval(() => {
    if (!client.connected) return;
    for (let i = 0; i < BURST; i++) {
      const n = published++;
      client.publish(`${LOCAL_TOPIC_PREFIX}${n % 64}`, String(n), { qos: n % 2 === 0 ? 0 : 1 });
    }
  }, INTERVAL_MS);
  return {
    get published() {
      return published;
    },
    get off() {
      return off;
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await client.endAsync(true);
    },
  };
}
