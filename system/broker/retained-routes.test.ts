import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, createLogger } from '../common/index.ts';
import type { TokenClaims } from '../protocol/index.ts';
import { createDurablePersistence, type DurablePersistence } from './durable-persistence.ts';
import type { PeerApi } from './peer-api.ts';
import { createRetainedMetrics } from './retained-metrics.ts';
import { registerRetainedRoutes } from './retained-routes.ts';

/**
 * The answering side of a retained fetch: `POST /peer-api/retained` over the broker's own store.
 * The caller is taken as authenticated (peer-api.ts has its own tests); its scope is what counts.
 */

const opened: DurablePersistence[] = [];
afterEach(async () => {
  for (const persistence of opened.splice(0)) await persistence.destroy();
});

async function answering(options: { scope: string[]; maxMessages?: number; maxBytes?: number }) {
  const persistence = createDurablePersistence({ path: ':memory:' });
  opened.push(persistence);
  await persistence.setup({ id: 'b1', counter: 0 });
  const registry = new Registry();
  const app = createHttpApp({
    logger: createLogger('test', 'silent'),
    metrics: registry,
    bodyLimit: 64 * 1024,
  });
  const peerApi: PeerApi = {
    onlyPeers: { onRequest: async () => {} },
    claimsOf: () => ({ topics: { pub: [], sub: options.scope } }) as unknown as TokenClaims,
  };
  registerRetainedRoutes(app, {
    peerApi,
    persistence,
    maxMessages: options.maxMessages ?? 1000,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    metrics: createRetainedMetrics(registry, () => 0),
  });
  const retain = (topic: string, payload: string) =>
    persistence.storeRetained({
      cmd: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos: 1,
      retain: true,
      dup: false,
    });
  const ask = async (filters: unknown) => {
    const response = await app.inject({
      method: 'POST',
      url: '/peer-api/retained',
      payload: { filters },
    });
    return { status: response.statusCode, body: response.json() };
  };
  return { app, persistence, retain, ask };
}

describe('a broker answers a retained fetch', () => {
  it('with the retained messages and tombstones on matching topics inside the caller’s scope, versioned', async () => {
    const { app, persistence, retain, ask } = await answering({ scope: ['plant/#'] });
    await retain('plant/a', 'one');
    await retain('plant/b', 'two');
    await retain('plant/b', '');
    await retain('office/c', 'not for this caller');
    const held = persistence.retainedVersions;
    const { status, body } = await ask(['#', 'plant/a']);
    expect(status).toBe(200);
    expect(body).toEqual({
      messages: [
        {
          topic: 'plant/a',
          payload: Buffer.from('one').toString('base64'),
          qos: 1,
          time: held.held('plant/a')!.version.time,
          origin: 'b1',
        },
        {
          topic: 'plant/b',
          payload: '',
          qos: 0,
          time: held.held('plant/b')!.version.time,
          origin: 'b1',
          deleted: true,
        },
      ],
      truncated: false,
    });
    await app.close();
  });

  it('bounded in messages and bytes, saying it was truncated', async () => {
    const counted = await answering({ scope: ['#'], maxMessages: 2 });
    for (const topic of ['t/1', 't/2', 't/3']) await counted.retain(topic, 'x');
    const byCount = await counted.ask(['t/#']);
    expect(byCount.body.messages).toHaveLength(2);
    expect(byCount.body.truncated).toBe(true);
    await counted.app.close();

    const sized = await answering({ scope: ['#'], maxBytes: 10 });
    await sized.retain('t/1', 'abcd');
    await sized.retain('t/2', 'abcd');
    const bySize = await sized.ask(['t/#']);
    expect(bySize.body.messages.map((m: { topic: string }) => m.topic)).toEqual(['t/1']);
    expect(bySize.body.truncated).toBe(true);
    await sized.app.close();
  });

  it('computes only so many answers at once, refusing the others with RATE_LIMITED', async () => {
    const registry = new Registry();
    const app = createHttpApp({
      logger: createLogger('test', 'silent'),
      metrics: registry,
      bodyLimit: 64 * 1024,
    });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let walking: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      walking = resolve;
    });
    registerRetainedRoutes(app, {
      peerApi: {
        onlyPeers: { onRequest: async () => {} },
        claimsOf: () => ({ topics: { pub: [], sub: ['#'] } }) as unknown as TokenClaims,
      },
      persistence: {
        async *retainedMatching() {
          walking();
          await held;
          yield* [];
        },
      },
      maxMessages: 10,
      maxBytes: 1024,
      maxInFlight: 1,
      metrics: createRetainedMetrics(registry, () => 0),
    });
    const request = () =>
      app.inject({ method: 'POST', url: '/peer-api/retained', payload: { filters: ['#'] } });
    const first = request();
    await started;
    const second = await request();
    expect(second.statusCode).toBe(429);
    expect(second.json().code).toBe('RATE_LIMITED');
    release();
    expect((await first).statusCode).toBe(200);
    expect((await request()).statusCode).toBe(200);
    await app.close();
  });

  it('refuses a request without filters, with too many, or with a malformed one', async () => {
    const { app, ask } = await answering({ scope: ['#'] });
    const tooMany = Array.from({ length: 65 }, (_, i) => `t/${i}`);
    for (const filters of [[], tooMany, ['a/#/b'], 'a/#']) {
      const { status, body } = await ask(filters);
      expect(status).toBe(400);
      expect(body.code).toBe('INVALID_REQUEST');
    }
    await app.close();
  });
});
