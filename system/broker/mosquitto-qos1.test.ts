import { describe, expect, it } from 'vitest';
import { tempDir } from '../common/testing.ts';
import { learnsInterest, startTestFederation } from './broker.fixtures.ts';
import { mosquittoTool as tool } from './mosquitto-tools.fixtures.ts';
import { registeredBrokerProcess, spawnBroker } from './process.fixtures.ts';

describe('QoS 1 with the mosquitto clients', () => {
  it('a persistent mosquitto_sub gets every mosquitto_pub -q 1 message though its broker is killed and restarted mid-stream', async () => {
    await using federation = await startTestFederation({
      brokers: ['a'],
      broker: { reconnectBaseMs: 20, reconnectMaxMs: 200 },
    });
    const a = federation.broker('a');
    await using dataDir = await tempDir('mqfed-k-');
    const options = await registeredBrokerProcess(federation, 'k', ['--data-dir', dataDir.path]);
    const first = await spawnBroker(options);
    const port = new URL(first.mqttUrl).port;
    const learned = learnsInterest(a, 'k', 'meter/#');
    // -c: a persistent session (clean session false) under a fixed client id.
    await using subscriber = tool('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', port, '-q', '1', '-c', '-i', 'meter-display'],
      ...['-t', 'meter/#', '-F', 'got %p', '-d'],
    ]);
    await subscriber.waitFor((text) => text.includes('SUBACK'), 'SUBACK');
    await learned;

    // One mosquitto_pub on a publishes a line of stdin per message, at QoS 1.
    await using publisher = tool('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', new URL(a.mqttUrl).port, '-q', '1', '-i', 'meter-1'],
      ...['-t', 'meter/1', '-l', '-d'],
    ]);
    const sent = Array.from({ length: 45 }, (_, index) => `reading-${index}`);
    const publish = async (from: number, to: number) => {
      for (const line of sent.slice(from, to)) {
        publisher.child.stdin.write(`${line}\n`);
        const acks = () => publisher.output().split('received PUBACK').length - 1;
        const before = sent.indexOf(line);
        await publisher.waitFor(() => acks() > before, `PUBACK for ${line}`);
      }
    };
    await publish(0, 15);
    await subscriber.waitFor((text) => text.includes('got reading-5'), 'the first readings');

    // The subscriber's broker dies mid-stream: no goodbye, links cut.
    await first.kill('SIGKILL');
    await publish(15, 30);
    // It comes back on the same data directory and MQTT port; the publisher never stops.
    await using second = await spawnBroker({
      ...options,
      args: [...(options.args ?? []), '--mqtt-port', port],
    });
    expect(new URL(second.mqttUrl).port).toBe(port);
    await publish(30, 45);
    publisher.child.stdin.end();

    await subscriber.waitFor(
      (text) => sent.every((line) => text.includes(`got ${line}\n`)),
      'every reading',
      30_000,
    );
    const got = subscriber
      .output()
      .split('\n')
      .filter((line) => line.startsWith('got '))
      .map((line) => line.slice(4));
    expect(new Set(got)).toEqual(new Set(sent));
  });
});
