import fc from 'fast-check';
import type { FuzzSource } from './fuzz-source.ts';
import { oddTopics, topicFilters } from './fuzz-topics.ts';

/**
 * Watch frames as a fuzzing watcher sends them (docs/protocol.md, Discovery service). As for the
 * peer link: structured frames the service must take (watches of odd but valid filters, unwatches
 * of ids that exist or not, a fresh token), and closing frames it must refuse by closing the
 * socket (not JSON, wrong types, unknown types, binary, bad UTF-8, a forged token, ...).
 */

export interface WatchFuzzFrame {
  kind: string;
  /** Text, or bytes sent as a binary message (`binary`) or as text that may not be UTF-8. */
  data: string | Buffer;
  binary: boolean;
}

/** What a lane knows of its socket. */
export interface WatchLane {
  token: string;
  /** A token of another subject, which `auth` must refuse. */
  otherToken: string;
  next: number;
  active: string[];
}

/** Watches a session keeps at most, well under the per-socket and per-subject limits. */
const MAX_ACTIVE = 24;

const jsonValues = fc.jsonValue({ maxDepth: 3 });
const watchIds = fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.constant('w'));
const filterLists = fc.array(topicFilters, { minLength: 1, maxLength: 4 });
const wrongTyped = fc.record(
  {
    type: fc.oneof(fc.constantFrom('watch', 'unwatch', 'auth'), jsonValues),
    id: fc.oneof(watchIds, jsonValues),
    filters: fc.oneof(filterLists, fc.array(oddTopics, { maxLength: 3 }), jsonValues),
    interestFilters: fc.oneof(filterLists, jsonValues),
    token: fc.oneof(fc.string(), jsonValues),
  },
  { requiredKeys: [] },
);
const randomText = fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }));

const text = (kind: string, value: unknown): WatchFuzzFrame => ({
  kind,
  data: JSON.stringify(value),
  binary: false,
});

export function structuredWatchFrame(lane: WatchLane, source: FuzzSource): WatchFuzzFrame {
  const full = lane.active.length >= MAX_ACTIVE;
  const kind = source.weighted([
    [full ? 0 : 50, 'watch'],
    [full ? 50 : 20, 'unwatch'],
    [5, 'unwatch-unknown'],
    [1, 'auth'],
  ] as const);
  switch (kind) {
    case 'watch': {
      // Unique per socket: a repeated id is a closing frame.
      const id = `${source.draw(watchIds).slice(0, 50)}#${lane.next++}`;
      lane.active.push(id);
      return text(kind, {
        type: 'watch',
        id,
        filters: source.draw(filterLists),
        ...(source.chance(0.4) ? { interestFilters: source.draw(filterLists) } : {}),
      });
    }
    case 'unwatch': {
      const id = lane.active.splice(source.int(lane.active.length), 1)[0] ?? 'none';
      return text(kind, { type: 'unwatch', id });
    }
    case 'unwatch-unknown':
      return text(kind, { type: 'unwatch', id: source.draw(watchIds) });
    case 'auth':
      return text(kind, { type: 'auth', token: lane.token });
  }
}

export function closingWatchFrame(lane: WatchLane, source: FuzzSource): WatchFuzzFrame {
  const kind = source.weighted([
    [4, 'wrong-types'],
    [3, 'random-text'],
    [3, 'mutated'],
    [2, 'unknown-type'],
    [2, 'duplicate-id'],
    [2, 'invalid-filter'],
    [1, 'binary'],
    [1, 'not-utf8'],
    [1, 'forged-token'],
    [1, 'token-of-other-subject'],
    [0.2, 'oversized'],
  ] as const);
  switch (kind) {
    case 'wrong-types':
      return text(kind, source.draw(wrongTyped));
    case 'random-text':
      return { kind, data: source.draw(randomText), binary: false };
    case 'mutated': {
      const valid = structuredWatchFrame(lane, source).data as string;
      return { kind, data: source.mutate(Buffer.from(valid)).toString(), binary: false };
    }
    case 'unknown-type':
      return text(kind, {
        type: source.pick(['subscribe', 'WATCH', '', 'constructor', '__proto__']),
        id: 'x',
      });
    case 'duplicate-id': {
      const id = lane.active[0] ?? 'dup';
      if (lane.active.length === 0) lane.active.push(id);
      return text(kind, { type: 'watch', id, filters: ['#'] });
    }
    case 'invalid-filter':
      return text(kind, {
        type: 'watch',
        id: `bad#${lane.next++}`,
        filters: [source.draw(oddTopics)],
      });
    case 'binary':
      return { kind, data: source.bytes(1 + source.int(64)), binary: true };
    case 'not-utf8':
      return { kind, data: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), binary: false };
    case 'forged-token':
      return text(kind, { type: 'auth', token: `${source.bytes(20).toString('base64url')}.e30.x` });
    case 'token-of-other-subject':
      return text(kind, { type: 'auth', token: lane.otherToken });
    case 'oversized':
      return text(kind, { type: 'watch', id: 'big', filters: ['x'.repeat(300_000)] });
  }
}
