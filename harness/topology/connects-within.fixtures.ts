import mqtt from 'mqtt';
import { caOfBrokerUrl } from '../broker-url.ts';

/** Whether an MQTT client gets connected to `url` within `ms` (trusting its `?cafile=`). */
export async function connectsWithin(url: string, ms: number): Promise<boolean> {
  const { url: plainUrl, ca } = caOfBrokerUrl(url);
  const client = mqtt.connect(plainUrl, {
    reconnectPeriod: 0,
    connectTimeout: ms,
    ...(ca === undefined ? {} : { ca }),
  });
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      client.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  } finally {
    client.end(true);
  }
}
