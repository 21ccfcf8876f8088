import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { haveDocker } from '../../docker/docker.fixtures.ts';
import { buildImage } from '../../docker/index.ts';
import { containersTopology } from './containers.ts';
import { topologyContract } from './topology.contract.ts';

beforeAll(async () => {
  if (haveDocker) await buildImage();
});

topologyContract('containers', () => containersTopology(), !haveDocker);

/** Whether an MQTT client gets connected to `url` within `ms`. */
async function connectsWithin(url: string, ms: number): Promise<boolean> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: ms });
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

describe.skipIf(!haveDocker)('faults on the containers topology', () => {
  it('pauses and resumes a broker, and cuts and restores its network, at a fixed address', async () => {
    await using topology = await containersTopology().start({ brokers: ['north', 'south'] });
    const url = topology.endpoint('south').mqttUrl;
    expect(await connectsWithin(url, 5_000)).toBe(true);

    await topology.pause?.('south');
    expect(await connectsWithin(url, 1_000)).toBe(false);
    await topology.resume?.('south');
    expect(await connectsWithin(url, 5_000)).toBe(true);

    await topology.disconnect?.('south');
    expect(await connectsWithin(url, 1_000)).toBe(false);
    await topology.reconnect?.('south');
    expect(topology.endpoint('south').mqttUrl).toBe(url);
    expect(await connectsWithin(url, 5_000)).toBe(true);

    // Killed and restarted, it comes back at the same address.
    await topology.kill?.('south');
    expect(() => topology.endpoint('south')).toThrow(/stopped/);
    await topology.restart('south');
    expect(topology.endpoint('south').mqttUrl).toBe(url);
    expect(await connectsWithin(url, 5_000)).toBe(true);
  });
});
