import type { EventEmitter } from 'node:events';
import { on } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { tempDir } from '../common/testing.ts';
import {
  type LocalFederation,
  type LocalFederationOptions,
  startLocalFederation,
} from './local-federation.ts';
import type { LinkEvent } from './peer-link.ts';

/** Shared pieces of the broker tests: an in-process federation, MQTT.js clients, event waits. */

/** The link events tests wait for, by type. */
export type Ack = Extract<LinkEvent, { type: 'subscribe-ack' }>;
export type LinkOpen = Extract<LinkEvent, { type: 'link-open' }>;
export type LinkClosed = Extract<LinkEvent, { type: 'link-closed' }>;
export type PeerInterest = Extract<LinkEvent, { type: 'peer-interest' }>;

export type TestFederation = LocalFederation & AsyncDisposable;

/** Auth, discovery and brokers in this process, with short timers so tests run fast. */
export async function startTestFederation(
  options: Partial<LocalFederationOptions> = {},
): Promise<TestFederation> {
  const dir = await tempDir('mqfed-broker-');
  const federation = await startLocalFederation({
    dataDir: dir.path,
    logLevel: 'silent',
    ...options,
    broker: { linkIdleGraceMs: 300, advertiseDebounceMs: 20, ...options.broker },
  }).catch(async (error: unknown) => {
    await dir[Symbol.asyncDispose]();
    throw error;
  });
  return Object.assign(federation, {
    async [Symbol.asyncDispose]() {
      await federation.close();
      await dir[Symbol.asyncDispose]();
    },
  });
}

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

export interface TestClient extends AsyncDisposable {
  readonly mqtt: MqttClient;
  /** Every message received so far, in order. */
  readonly received: Received[];
  /** Resolves once `count` messages (in total) were received. */
  receivedCount(count: number, timeoutMs?: number): Promise<Received[]>;
  subscribe(filter: string, qos?: 0 | 1): Promise<void>;
  publish(topic: string, payload: string | Buffer, qos?: 0 | 1, retain?: boolean): Promise<void>;
}

/** An MQTT.js client connected to `url`, recording what it receives. */
export async function connectClient(
  url: string,
  options: IClientOptions = {},
): Promise<TestClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload, qos: packet.qos, retain: packet.retain });
    for (const wake of waiters) wake();
  });
  return {
    mqtt: client,
    received,
    receivedCount(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`received ${received.length} of ${count} messages in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async subscribe(filter, qos = 0) {
      await client.subscribeAsync(filter, { qos });
    },
    async publish(topic, payload, qos = 0, retain = false) {
      await client.publishAsync(topic, payload, { qos, retain });
    },
    async [Symbol.asyncDispose]() {
      await client.endAsync(true);
    },
  };
}

/** The next event `name` of `emitter` that satisfies `predicate`. */
export async function nextEvent<T>(
  emitter: EventEmitter,
  name: string,
  predicate: (event: T) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    for await (const [event] of on(emitter, name, { signal })) {
      if (predicate(event as T)) return event as T;
    }
  } catch (error) {
    if (signal.aborted) throw new Error(`no ${name} event within ${timeoutMs} ms`);
    throw error;
  }
  throw new Error(`${name} events ended`);
}

/** Resolves once `broker` knows, from discovery, that `peer`'s clients want `filter`. */
export function learnsInterest(
  broker: { links(): { peer: string; interest: string[] }[]; events: EventEmitter },
  peer: string,
  filter: string,
): Promise<unknown> {
  const known = () => broker.links().some((l) => l.peer === peer && l.interest.includes(filter));
  if (known()) return Promise.resolve();
  return nextEvent<PeerInterest>(
    broker.events,
    'peer-interest',
    (event) => event.peer === peer && event.interest.includes(filter),
    10_000,
  );
}
