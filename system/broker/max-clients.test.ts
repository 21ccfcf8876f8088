import mqtt, { type ErrorWithReasonCode, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startTestFederation } from './broker.fixtures.ts';
import { metricOf } from './observe.fixtures.ts';

const connect = (url: string, clientId: string) =>
  mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5_000 });

/** The CONNACK return code of a refused connect (MQTT.js puts it on the error). */
async function refusalCode(url: string, clientId: string): Promise<number | undefined> {
  try {
    const client = await connect(url, clientId);
    await client.endAsync(true);
    return undefined;
  } catch (error) {
    return (error as ErrorWithReasonCode).code;
  }
}

describe('a broker started with --max-clients', () => {
  it('refuses a client over the cap with CONNACK 3, counts and logs it, and lets a client take over its own id', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    await using federation = await startTestFederation({ brokers: [] });
    const broker = await federation.startBroker('a', { maxClients: 2, logger });
    const clients: MqttClient[] = [];
    try {
      clients.push(await connect(broker.mqttUrl, 'one'), await connect(broker.mqttUrl, 'two'));
      expect(await refusalCode(broker.mqttUrl, 'three')).toBe(3);
      expect(await refusalCode(broker.mqttUrl, 'four')).toBe(3);
      expect(await refusalCode(broker.mqttUrl, 'five')).toBe(3);
      const refusals = () =>
        metricOf(broker, 'mqfed_broker_client_refusals_total', { reason: 'max_clients' });
      expect(await refusals()).toBe(3);
      // Three refusals in a moment: one log line, which carries the stable code.
      const logged = lines.filter((line) => line.reason === 'max_clients');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ code: 'CLIENT_LIMIT_EXCEEDED', maxClients: 2 });

      // A client reconnecting under its id while its old connection lingers gets in at the cap,
      // and the old connection is closed (MQTT-3.1.4-2).
      const [old] = clients;
      const oldClosed = new Promise<void>((resolve) => old?.once('close', () => resolve()));
      clients.push(await connect(broker.mqttUrl, 'one'));
      await oldClosed;
      expect(await refusals()).toBe(3);
      expect(await metricOf(broker, 'mqfed_broker_clients')).toBe(2);

      // A slot freed is a slot taken again.
      await clients[1]?.endAsync();
      const six = await connect(broker.mqttUrl, 'six');
      clients.push(six);
      expect(six.connected).toBe(true);
      expect(await refusalCode(broker.mqttUrl, 'seven')).toBe(3);
    } finally {
      await Promise.all(clients.map((client) => client.endAsync(true)));
    }
  });

  it('never lets concurrent CONNECTs overshoot the cap', async () => {
    await using federation = await startTestFederation({ brokers: [] });
    const broker = await federation.startBroker('a', { maxClients: 3 });
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => connect(broker.mqttUrl, `c${i}`)),
    );
    const accepted = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    try {
      expect(accepted).toHaveLength(3);
      const codes = attempts.flatMap((a) =>
        a.status === 'rejected' ? [(a.reason as ErrorWithReasonCode).code] : [],
      );
      expect(codes).toEqual(Array(7).fill(3));
      expect(await metricOf(broker, 'mqfed_broker_clients')).toBe(3);
    } finally {
      await Promise.all(accepted.map((client) => client.endAsync(true)));
    }
  });
});
