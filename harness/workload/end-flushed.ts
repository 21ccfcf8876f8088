import { once } from 'node:events';
import type { MqttClient } from 'mqtt';

/** How long an end waits for the broker to take what was written before the socket goes. */
export const END_GRACE_MS = 5_000;

/**
 * Ends a client once what it wrote has left the process. [design] A forced end destroys the
 * socket with the writes still buffered in it (TLS holds more of them than plain TCP), and a run
 * counts those as sent: a run stopped early then showed messages lost that never left the
 * generator. So the end is a clean one (DISCONNECT after the buffered writes, then the socket
 * ends), which MQTT.js holds until its QoS 1 publishes in flight are acknowledged. A broker that
 * reads nothing more gets `graceMs`, after which the socket is destroyed as before.
 */
export async function endFlushed(client: MqttClient, graceMs = END_GRACE_MS): Promise<void> {
  const stream = client.stream;
  if (!client.connected || stream.destroyed) {
    await client.endAsync(true);
    return;
  }
  // An error on the way out (a reset) ends the wait too: the socket is gone either way.
  const closed = once(stream, 'close').catch(() => undefined);
  const grace = setTimeout(() => stream.destroy(), graceMs);
  try {
    // The clean end resolves after the close; the close alone also ends the wait when the grace
    // ran out while MQTT.js still waited for acknowledgements it will never get.
    await Promise.race([client.endAsync(false), closed]);
  } finally {
    clearTimeout(grace);
  }
}
