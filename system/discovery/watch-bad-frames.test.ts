import { describe, expect, it } from 'vitest';
import { call, startFederation } from './discovery.fixtures.ts';
import { openRawWatch } from './wire.fixtures.ts';

type Send = (ws: import('ws').WebSocket) => void;
const text =
  (frame: string): Send =>
  (ws) =>
    ws.send(frame);

describe('a bad watch frame closes that socket only, with the catalogue close code', () => {
  it.each<[string, Send, number, string]>([
    ['text that is not JSON', text('hello'), 4400, 'MALFORMED_JSON'],
    ['JSON that is no frame object', text('[1,2]'), 4400, 'INVALID_REQUEST'],
    ['a frame without a type', text('{"id":"w"}'), 4400, 'INVALID_REQUEST'],
    ['an unknown frame type', text('{"type":"subscribe","id":"w"}'), 4400, 'FRAME_UNKNOWN_TYPE'],
    ['a watch without filters', text('{"type":"watch","id":"w"}'), 4400, 'INVALID_REQUEST'],
    [
      'a watch with neither filters nor interest filters',
      text('{"type":"watch","id":"w","filters":[],"interestFilters":[]}'),
      4400,
      'INVALID_REQUEST',
    ],
    [
      'a watch with an invalid interest filter',
      text('{"type":"watch","id":"w","filters":[],"interestFilters":["#/a"]}'),
      4400,
      'INVALID_REQUEST',
    ],
    [
      'a watch with an invalid filter',
      text('{"type":"watch","id":"w","filters":["a/#/b"]}'),
      4400,
      'INVALID_REQUEST',
    ],
    [
      'a second watch with the same id',
      (ws) => {
        ws.send('{"type":"watch","id":"w","filters":["a"]}');
        ws.send('{"type":"watch","id":"w","filters":["b"]}');
      },
      4400,
      'INVALID_REQUEST',
    ],
    [
      'a binary frame',
      (ws) => ws.send(Buffer.from('{"type":"unwatch","id":"w"}')),
      1007,
      'FRAME_MALFORMED',
    ],
    [
      'text that is not UTF-8',
      (ws) => ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false }),
      1007,
      'FRAME_MALFORMED',
    ],
    [
      'an oversized frame',
      text(`{"type":"watch","id":"w","filters":["${'x'.repeat(2048)}"]}`),
      1009,
      'BODY_TOO_LARGE',
    ],
    [
      'an auth frame with a forged token',
      text('{"type":"auth","token":"not.a.jwt"}'),
      4401,
      'TOKEN_INVALID',
    ],
  ])('%s', async (_name, sendBad, code, reason) => {
    await using federation = await startFederation({ maxWatchFrameBytes: 1024 });
    const token = await federation.tokenFor('b1', 'broker', { pub: ['#'] });
    await using bystander = await openRawWatch(federation.discovery.watchUrl, token);
    bystander.sendJson({ type: 'watch', id: 'all', filters: ['#'] });
    expect((await bystander.frames.next()).event).toMatchObject({ type: 'snapshot' });

    await using victim = await openRawWatch(federation.discovery.watchUrl, token);
    sendBad(victim.ws);
    expect(await victim.closed).toEqual({ code, reason });

    // The other watcher still hears of changes, and the service still answers.
    const answer = await call(`${federation.discovery.url}/brokers/b1`, {
      method: 'PUT',
      bearer: token,
      body: { linkUrl: 'ws://b1/peer', topics: ['a'] },
    });
    expect(answer.status).toBe(201);
    expect((await bystander.frames.next()).event).toMatchObject({
      type: 'joined',
      broker: { id: 'b1' },
    });
    const metrics = await (await fetch(`${federation.discovery.url}/metrics`)).text();
    expect(metrics).toContain(
      `mqfed_discovery_watch_closures_total{code="${reason}",service="discovery"} 1`,
    );
  });

  it('an auth frame with another service’s token is IDENTITY_MISMATCH', async () => {
    await using federation = await startFederation();
    const mine = await federation.tokenFor('b1', 'broker');
    const theirs = await federation.tokenFor('b2', 'broker');
    await using socket = await openRawWatch(federation.discovery.watchUrl, mine);
    socket.sendJson({ type: 'auth', token: theirs });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'IDENTITY_MISMATCH' });
  });

  it('unwatching stops the events of that watch and is acknowledged', async () => {
    await using federation = await startFederation();
    const token = await federation.tokenFor('b1', 'broker', { pub: ['#'] });
    await using socket = await openRawWatch(federation.discovery.watchUrl, token);
    socket.sendJson({ type: 'watch', id: 'a', filters: ['a'] });
    socket.sendJson({ type: 'watch', id: 'b', filters: ['b'] });
    socket.sendJson({ type: 'unwatch', id: 'a' });
    expect((await socket.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'a' });
    expect((await socket.frames.next()).event).toMatchObject({ type: 'snapshot', id: 'b' });
    expect((await socket.frames.next()).event).toEqual({ type: 'unwatched', id: 'a' });
    await call(`${federation.discovery.url}/brokers/b1`, {
      method: 'PUT',
      bearer: token,
      body: { linkUrl: 'ws://b1/peer', topics: ['a', 'b'] },
    });
    expect((await socket.frames.next()).event).toMatchObject({ type: 'joined', id: 'b' });
  });
});
