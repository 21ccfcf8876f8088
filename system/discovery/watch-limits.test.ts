import { describe, expect, it } from 'vitest';
import { call, startFederation } from './discovery.fixtures.ts';
import { openRawWatch, rawUpgrade } from './wire.fixtures.ts';

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text();
const refusals = (limit: string, count: number) =>
  `mqfed_discovery_limit_refusals_total{limit="${limit}",service="discovery"} ${count}`;

describe('watches are bounded per token subject, per socket and in their filters', () => {
  it('one subject cannot hold more watches by opening more sockets, and gets them back when it unwatches', async () => {
    await using federation = await startFederation({ maxWatchesPerSubject: 2 });
    const token = await federation.tokenFor('b1', 'broker');
    const watchUrl = federation.discovery.watchUrl;
    await using first = await openRawWatch(watchUrl, token);
    first.sendJson({ type: 'watch', id: 'a', filters: ['a'] });
    first.sendJson({ type: 'watch', id: 'b', filters: ['b'] });
    expect((await first.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'a' });
    expect((await first.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'b' });

    await using second = await openRawWatch(watchUrl, token);
    second.sendJson({ type: 'watch', id: 'c', filters: ['c'] });
    expect(await second.closed).toEqual({ code: 4409, reason: 'WATCH_LIMIT_EXCEEDED' });

    // Another subject is not affected by b1's quota.
    await using other = await openRawWatch(watchUrl, await federation.tokenFor('b2', 'broker'));
    other.sendJson({ type: 'watch', id: 'c', filters: ['c'] });
    expect((await other.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'c' });

    // An unwatch gives the watch back to the subject.
    first.sendJson({ type: 'unwatch', id: 'a' });
    expect((await first.frames.next()).event).toEqual({ type: 'unwatched', id: 'a' });
    await using third = await openRawWatch(watchUrl, token);
    third.sendJson({ type: 'watch', id: 'c', filters: ['c'] });
    expect((await third.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'c' });
    expect(await metricsOf(federation.discovery.url)).toContain(refusals('watches_per_subject', 1));
  });

  it('one subject holds a bounded number of watch sockets; a refused upgrade is a plain 409', async () => {
    await using federation = await startFederation({ maxWatchSocketsPerSubject: 2 });
    const token = await federation.tokenFor('b1', 'broker');
    const watchUrl = federation.discovery.watchUrl;
    await using first = await openRawWatch(watchUrl, token);
    await using second = await openRawWatch(watchUrl, token);
    const refused = await rawUpgrade(`${federation.discovery.url}/watch`, {
      authorization: `Bearer ${token}`,
    });
    expect(refused).toMatchObject({
      status: 409,
      body: { code: 'WATCH_LIMIT_EXCEEDED' },
      upgraded: false,
    });
    // Another subject still gets in, and a closed socket frees its place.
    await using other = await openRawWatch(watchUrl, await federation.tokenFor('b2', 'broker'));
    expect(other.ws.readyState).toBe(1);
    first.ws.close();
    await first.closed;
    await expect
      .poll(
        async () =>
          (
            await rawUpgrade(`${federation.discovery.url}/watch`, {
              authorization: `Bearer ${token}`,
            })
          ).status,
        {
          timeout: 10_000,
        },
      )
      .toBe(101);
    expect(second.ws.readyState).toBe(1);
    expect(await metricsOf(federation.discovery.url)).toContain(
      refusals('watch_sockets_per_subject', 1),
    );
  });

  it('a closed socket gives its watches back', async () => {
    await using federation = await startFederation({ maxWatchesPerSubject: 1 });
    const token = await federation.tokenFor('b1', 'broker');
    const watchUrl = federation.discovery.watchUrl;
    const first = await openRawWatch(watchUrl, token);
    first.sendJson({ type: 'watch', id: 'a', filters: ['a'] });
    expect((await first.frames.next()).event).toMatchObject({ type: 'snapshot' });
    first.ws.close();
    await first.closed;
    // The server sees the close a moment later; the quota is free once it has.
    await expect
      .poll(
        async () => {
          await using again = await openRawWatch(watchUrl, token);
          again.sendJson({ type: 'watch', id: 'b', filters: ['b'] });
          const answer = await Promise.race([
            again.frames.next().then(({ event }) => event.type),
            again.closed.then(({ reason }) => reason),
          ]);
          return answer;
        },
        { timeout: 10_000 },
      )
      .toBe('snapshot');
  });

  it.each([
    ['too many watches on one socket', { maxWatchesPerSocket: 1 }, 'watches_per_socket'],
    ['too many filters in one watch', { maxFiltersPerWatch: 3 }, 'filters_per_watch'],
    ['a filter too long', { maxWatchFilterBytes: 16 }, 'watch_filter_bytes'],
    ['a filter too deep', { maxWatchFilterLevels: 4 }, 'watch_filter_levels'],
  ])('%s is WATCH_LIMIT_EXCEEDED and closes that socket only', async (_name, options, limit) => {
    await using federation = await startFederation(options);
    const token = await federation.tokenFor('b1', 'broker');
    await using socket = await openRawWatch(federation.discovery.watchUrl, token);
    // Within every limit above: one filter, short and shallow.
    socket.sendJson({ type: 'watch', id: 'ok', filters: ['a/b'] });
    expect((await socket.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'ok' });
    const bad = {
      watches_per_socket: { filters: ['c'] },
      filters_per_watch: { filters: ['a', 'b'], interestFilters: ['c', 'd'] },
      watch_filter_bytes: { filters: ['x'.repeat(17)] },
      watch_filter_levels: { filters: ['a/b/c/d/e'] },
    }[limit];
    socket.sendJson({ type: 'watch', id: 'bad', ...bad });
    expect(await socket.closed).toEqual({ code: 4409, reason: 'WATCH_LIMIT_EXCEEDED' });
    expect(await metricsOf(federation.discovery.url)).toContain(refusals(limit, 1));
  });

  it('advertising over the cap is counted under its limit', async () => {
    await using federation = await startFederation({
      maxTopicsPerBroker: 2,
      maxInterestPerBroker: 1,
    });
    const token = await federation.tokenFor('b1', 'broker', { pub: ['#'], sub: ['#'] });
    const url = `${federation.discovery.url}/brokers/b1`;
    const put = (topics: string[], interest: string[]) =>
      call(url, { method: 'PUT', bearer: token, body: { linkUrl: 'ws://b1/p', topics, interest } });
    expect((await put(['a', 'b', 'c'], [])).body).toMatchObject({ code: 'TOPIC_LIMIT_EXCEEDED' });
    expect((await put(['a'], ['x', 'y'])).body).toMatchObject({ code: 'TOPIC_LIMIT_EXCEEDED' });
    const metrics = await metricsOf(federation.discovery.url);
    expect(metrics).toContain(refusals('topics_per_broker', 1));
    expect(metrics).toContain(refusals('interest_per_broker', 1));
  });
});
