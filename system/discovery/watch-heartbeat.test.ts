import { describe, expect, it } from 'vitest';
import { startFederation } from './discovery.fixtures.ts';
import { openRawWatch } from './wire.fixtures.ts';

async function watchSocketsGauge(url: string): Promise<string | undefined> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return /^mqfed_discovery_watch_sockets\{[^}]*\} (\d+)$/m.exec(metrics)?.[1];
}

describe('the discovery service drops watchers that stopped answering', () => {
  it('a watcher that answers no ping is cut off after one missed pong; a live one stays', async () => {
    await using federation = await startFederation({ watchHeartbeatMs: 100 });
    const token = await federation.tokenFor('monitor', 'discovery');
    await using live = await openRawWatch(federation.discovery.watchUrl, token);
    await using dead = await openRawWatch(federation.discovery.watchUrl, token, {
      autoPong: false,
    });
    expect(await watchSocketsGauge(federation.discovery.url)).toBe('2');

    const started = performance.now();
    // Terminated without a close frame, as a vanished peer would be.
    expect((await dead.closed).code).toBe(1006);
    expect(performance.now() - started).toBeLessThan(1_000);

    live.sendJson({ type: 'watch', id: 'w', filters: ['#'] });
    expect((await live.frames.next()).event).toMatchObject({ type: 'snapshot' });
    expect(await watchSocketsGauge(federation.discovery.url)).toBe('1');
    const metrics = await (await fetch(`${federation.discovery.url}/metrics`)).text();
    expect(metrics).toMatch(/mqfed_discovery_watch_closures_total\{code="PONG_MISSING",[^}]*\} 1/);
  });
});
