import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { haveDocker } from '../../docker/docker.fixtures.ts';
import { buildImage } from '../../docker/index.ts';
import { caOfBrokerUrl } from '../broker-url.ts';
import { expectDeliveryOverTls } from '../tls-delivery.fixtures.ts';
import { connectsWithin } from './connects-within.fixtures.ts';
import { containersTopology } from './containers.ts';
import { topologyContract } from './topology.contract.ts';

const run = promisify(execFile);

beforeAll(async () => {
  if (haveDocker) await buildImage();
});

topologyContract('containers', () => containersTopology(), !haveDocker);

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

describe.skipIf(!haveDocker)('a containers topology asked for TLS', () => {
  it('hands out mqtts:// endpoints naming the run CA, delivers across brokers, and refuses a client without that CA', async () => {
    await using topology = await containersTopology().start({
      brokers: ['north', 'south'],
      tls: true,
    });
    const north = topology.endpoint('north').mqttUrl;
    expect(north).toMatch(/^mqtts:\/\/[\d.]+:8883\/?\?cafile=/);
    // Its key, copied in before it started: the service's own (uid 1000), readable by it only.
    const [container] = (
      await run('docker', ['ps', '--filter', 'label=mqfed.service=north', '--format', '{{.Names}}'])
    ).stdout
      .trim()
      .split('\n');
    const stat = ['exec', container!, 'node', '-e'];
    const script = `const s = fs.statSync('/data/tls/broker-north-key.pem'); console.log(s.uid, (s.mode & 0o777).toString(8))`;
    expect((await run('docker', [...stat, script])).stdout.trim()).toBe('1000 400');
    // The same broker, reached without the run's CA: the system's CAs know nothing of it.
    await expect(
      mqtt.connectAsync(caOfBrokerUrl(north).url, { reconnectPeriod: 0, connectTimeout: 5_000 }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SIGNED|ISSUER/) });

    await expectDeliveryOverTls(topology, 'north', 'south', 'containers-tls', 200);
  });
});
