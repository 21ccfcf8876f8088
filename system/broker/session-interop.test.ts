import { describe, expect, it } from 'vitest';
import { learnsInterest, startTestFederation } from './broker.fixtures.ts';
import { mosquittoTool } from './mosquitto-tools.fixtures.ts';
import { metricOf } from './observe.fixtures.ts';

const portOf = (url: string) => new URL(url).port;

describe('sessions that move, with the mosquitto clients', () => {
  it('mosquitto_sub -c stopped on a and started on b gets what was published in between', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b', 'c'],
      broker: { sessionRelayMs: 300 },
    });
    const [a, b, c] = ['a', 'b', 'c'].map((id) => federation.broker(id));
    const subscriberArgs = (url: string) => [
      ...['-h', '127.0.0.1', '-p', portOf(url), '-q', '1', '-c', '-i', 'meter-display'],
      ...['-t', 'meter/#', '-F', 'got %p', '-d'],
    ];
    {
      await using onA = mosquittoTool('mosquitto_sub', subscriberArgs(a!.mqttUrl));
      await onA.waitFor((text) => text.includes('SUBACK'), 'SUBACK');
      await learnsInterest(c!, 'a', 'meter/#');
      // SIGINT: mosquitto_sub disconnects cleanly; its session stays at a.
      onA.child.kill('SIGINT');
      await onA.waitFor((text) => text.includes('DISCONNECT'), 'DISCONNECT');
    }
    const readings = Array.from({ length: 5 }, (_, index) => `reading-${index}`);
    for (const reading of readings) {
      await using publish = mosquittoTool('mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', portOf(c!.mqttUrl), '-q', '1', '-t', 'meter/1'],
        ...['-m', reading],
      ]);
      await publish.exited;
      expect(publish.child.exitCode).toBe(0);
    }
    await using onB = mosquittoTool('mosquitto_sub', subscriberArgs(b!.mqttUrl));
    await onB.waitFor(
      (text) => readings.every((reading) => text.includes(`got ${reading}`)),
      'the readings published while it was away',
    );
    // The session came from a (mosquitto_sub does not print the session-present flag).
    const moved = { side: 'taker', outcome: 'moved' };
    expect(await metricOf(b!, 'mqfed_broker_session_moves_total', moved)).toBe(1);
  });
});
