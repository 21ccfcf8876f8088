import { expect } from 'vitest';
import type { StartedTopology } from './topology/topology.ts';
import { connectMqtt } from './workload/mqtt-connect.ts';

/**
 * Publishes on broker `from` until a subscriber on broker `to` gets a message (until the peer
 * link is up, publishes reach nobody), then checks the link's bytes were scraped over the
 * run's TLS. Shared by every topology's TLS test.
 */
export async function expectDeliveryOverTls(
  topology: StartedTopology,
  from: string,
  to: string,
  clientPrefix: string,
  repeatEveryMs: number,
): Promise<void> {
  const publisher = await connectMqtt(topology.endpoint(from).mqttUrl, `${clientPrefix}-pub`);
  const subscriber = await connectMqtt(topology.endpoint(to).mqttUrl, `${clientPrefix}-sub`);
  try {
    await subscriber.subscribeAsync('tls/#');
    const got = new Promise<string>((resolve) =>
      subscriber.on('message', (_topic, payload) => resolve(payload.toString())),
    );
    const timer = setInterval(
      () => void publisher.publishAsync('tls/t', 'over tls'),
      repeatEveryMs,
    );
    try {
      expect(await got).toBe('over tls');
    } finally {
      clearInterval(timer);
    }
    expect((await topology.linkBytes?.())?.get(from)).toBeGreaterThan(0);
  } finally {
    await publisher.endAsync(true);
    await subscriber.endAsync(true);
  }
}
