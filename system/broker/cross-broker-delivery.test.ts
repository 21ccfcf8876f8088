import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../protocol/index.ts';
import { type Ack, connectClient, nextEvent, startTestFederation } from './broker.fixtures.ts';

describe('a publish on one broker reaches subscribers on the others', () => {
  it('delivers exact topics and wildcards, with binary payloads of 0 B, 1 B, 64 KiB and the limit', async () => {
    await using federation = await startTestFederation({ brokers: 3 });
    const [a, b, c] = federation.brokers();
    await using publisher = await connectClient(a!.mqttUrl);
    await using exact = await connectClient(b!.mqttUrl);
    await using wildcard = await connectClient(c!.mqttUrl);
    const linkedB = nextEvent<Ack>(b!.events, 'subscribe-ack', (e) => e.peer === a!.id);
    const linkedC = nextEvent<Ack>(c!.events, 'subscribe-ack', (e) => e.peer === a!.id);
    await exact.subscribe('sensors/t1');
    await wildcard.subscribe('sensors/+');
    // The first publish makes broker A advertise the topic; B and C then link to A.
    await publisher.publish('sensors/t1', 'announce');
    expect((await linkedB).granted).toEqual(['sensors/t1']);
    expect((await linkedC).granted).toEqual(['sensors/+']);

    const payloads = [
      Buffer.alloc(0),
      Buffer.from([0xff]),
      randomBytes(64 * 1024),
      randomBytes(DEFAULT_MAX_PAYLOAD_BYTES),
    ];
    for (const payload of payloads) await publisher.publish('sensors/t1', payload);
    for (const subscriber of [exact, wildcard]) {
      const skip = subscriber.received.filter((m) => m.payload.toString() === 'announce').length;
      const messages = await subscriber.receivedCount(skip + payloads.length);
      const got = messages.slice(skip);
      expect(got.map((m) => m.topic)).toEqual(payloads.map(() => 'sensors/t1'));
      expect(got.map((m) => m.payload.toString('hex'))).toEqual(
        payloads.map((p) => p.toString('hex')),
      );
    }
  });
});
