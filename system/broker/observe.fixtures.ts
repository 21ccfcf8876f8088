import type { EventEmitter } from 'node:events';
import type { Received, TestClient } from './broker.fixtures.ts';

/** What the federation tests look at from outside: metrics, recorded events, received messages. */

/** The Prometheus text a broker service serves at `/metrics`. */
export async function scrape(service: { url: string }): Promise<string> {
  const response = await fetch(`${service.url}/metrics`);
  if (!response.ok) throw new Error(`${service.url}/metrics answered ${response.status}`);
  return response.text();
}

/**
 * The sum of every series of `name` whose labels include `labels`; 0 when there is none.
 * `metric(text, 'mqfed_broker_links', { state: 'open' })`.
 */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]),
    );
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) {
      sum += Number(match[3]);
    }
  }
  return sum;
}

/** Scrapes `service` and reads one metric (see `metric`). */
export async function metricOf(
  service: { url: string },
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return metric(await scrape(service), name, labels);
}

/** Every `name` event `emitter` emits from now on, in order. */
export function recordEvents<T>(emitter: EventEmitter, name: string): T[] {
  const events: T[] = [];
  emitter.on(name, (event: T) => events.push(event));
  return events;
}

/**
 * Resolves with the messages matching `predicate` once `count` of them arrived at `client` (counting
 * those already received).
 */
export function receivedWhere(
  client: TestClient,
  predicate: (message: Received) => boolean,
  count: number,
  timeoutMs = 5_000,
): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const matching = client.received.filter(predicate);
      if (matching.length < count) return false;
      client.mqtt.off('message', onMessage);
      clearTimeout(timer);
      resolve(matching);
      return true;
    };
    // Registered after the fixture's own listener, so `received` already holds the new message.
    const onMessage = () => void check();
    const timer = setTimeout(() => {
      client.mqtt.off('message', onMessage);
      const got = client.received.filter(predicate).length;
      reject(new Error(`received ${got} of ${count} matching messages in ${timeoutMs} ms`));
    }, timeoutMs);
    if (!check()) client.mqtt.on('message', onMessage);
  });
}

/** The payloads of `messages` as strings. */
export function payloads(messages: readonly Received[]): string[] {
  return messages.map((message) => message.payload.toString());
}

/**
 * Resolves with the first truthy answer of `probe`, asked every `intervalMs`. Only for states no
 * event announces (a metric crossing a value, a lookup answer); prefer events everywhere else.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 5_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined && answer !== null && answer !== false) return answer;
    if (performance.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
