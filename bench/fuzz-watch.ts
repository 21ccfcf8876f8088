import type { Budget } from './fuzz-budget.ts';
import { rawRequest, sendAndDrain, tallyClose, upgrade } from './fuzz-sockets.ts';
import { FuzzSource, laneSeed } from './fuzz-source.ts';
import { excerpt, type Tally } from './fuzz-tally.ts';
import {
  closingWatchFrame,
  structuredWatchFrame,
  type WatchFuzzFrame,
  type WatchLane,
} from './fuzz-watch-frames.ts';
import type { FuzzReady } from './fuzz-wire.ts';

/** Watch sockets open at once. [design] Two stay far below the per-subject watch limit. */
const LANES = 2;
const PACE_EVERY = 16;
/** Not JSON: closes the socket whatever came before. */
const SENTINEL = '!';

/**
 * Fuzzes discovery's watch socket (`GET /watch`): sessions of structured frames, most ending in a
 * closing frame whose close code is counted, and now and then an upgrade that must be refused.
 */
export async function fuzzWatch(
  services: FuzzReady,
  budget: Budget,
  seed: number,
  tally: Tally,
): Promise<void> {
  const { reader, writer } = services.identities;
  await Promise.all(
    Array.from({ length: LANES }, async (_, index) => {
      const source = new FuzzSource(laneSeed(seed, 'watch', index));
      const lane: WatchLane = {
        token: reader.tokens.discovery!,
        otherToken: writer.tokens.discovery!,
        next: 0,
        active: [],
      };
      const wrongAudience = reader.tokens.auth!;
      while (budget.take(1)) {
        if (source.chance(0.03)) await badUpgrade(services.watchUrl, wrongAudience, source, tally);
        else await session(services.watchUrl, lane, source, budget, tally);
      }
    }),
  );
}

async function session(
  url: string,
  lane: WatchLane,
  source: FuzzSource,
  budget: Budget,
  tally: Tally,
): Promise<void> {
  const opened = await upgrade(url, [], { authorization: `Bearer ${lane.token}` });
  tally.sent('upgrade');
  if (!('ws' in opened)) {
    tally.status(opened.status, () => ({
      what: 'valid watch upgrade',
      input: url,
      answer: `${opened.status} ${opened.body}`,
    }));
    return;
  }
  tally.status(101, () => ({ what: '', input: '', answer: '' }));
  const { ws, closed } = opened;
  ws.on('error', () => {});
  let serverClosed = false;
  void closed.then(() => {
    serverClosed = true;
  });
  lane.active = [];
  const send = async (frame: WatchFuzzFrame, index: number) => {
    tally.sent(frame.kind);
    if (index % PACE_EVERY === PACE_EVERY - 1) await sendAndDrain(ws, frame.data, frame.binary);
    else if (ws.readyState === ws.OPEN) ws.send(frame.data, { binary: frame.binary });
  };
  const length = 1 + source.int(200);
  for (let i = 0; i < length && !serverClosed; i++) {
    if (!budget.take(1)) break;
    await send(structuredWatchFrame(lane, source), i);
  }
  let last = '';
  let expectClose = serverClosed;
  if (!serverClosed && source.chance(0.8) && budget.take(1)) {
    const frame = closingWatchFrame(lane, source);
    last = `${frame.kind} ${excerpt(frame.data)}`;
    await send(frame, PACE_EVERY - 1);
    await sendAndDrain(ws, SENTINEL, false);
    tally.sent('sentinel');
    expectClose = true;
  } else if (!serverClosed) {
    ws.close(1000);
  }
  await tallyClose(
    ws,
    closed,
    {
      what: expectClose ? 'discovery did not close the watch after a bad frame' : 'no close',
      input: last,
    },
    tally,
  );
}

async function badUpgrade(
  url: string,
  wrongAudience: string,
  source: FuzzSource,
  tally: Tally,
): Promise<void> {
  const kind = source.pick([
    'no-token',
    'forged-token',
    'wrong-audience',
    'wrong-path',
    'raw-garbage',
  ] as const);
  tally.sent(`upgrade-${kind}`);
  if (kind === 'raw-garbage') {
    const bytes = source.mutate(
      Buffer.from(
        'GET /watch HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    const status = await rawRequest(url.replace(/^ws/, 'http'), bytes);
    if (status === -1)
      tally.anomaly({ what: 'raw watch upgrade hung', input: excerpt(bytes), answer: '' });
    else
      tally.status(status, () => ({
        what: 'raw watch upgrade',
        input: excerpt(bytes),
        answer: String(status),
      }));
    return;
  }
  const headers: Record<string, string> = {};
  if (kind === 'forged-token')
    headers.authorization = `Bearer ${source.bytes(30).toString('base64url')}.e30.x`;
  if (kind === 'wrong-audience') headers.authorization = `Bearer ${wrongAudience}`;
  const at = kind === 'wrong-path' ? `${url}${source.pick(['/', 'x', '/%2e%2e', '?x=%'])}` : url;
  const answer = await upgrade(at, [], headers);
  if ('ws' in answer) {
    tally.anomaly({ what: `watch upgrade ${kind} was accepted`, input: at, answer: '101' });
    answer.ws.terminate();
    await answer.closed;
    return;
  }
  tally.status(answer.status, () => ({
    what: `watch upgrade ${kind}`,
    input: at,
    answer: `${answer.status} ${answer.body.slice(0, 200)}`,
  }));
}
