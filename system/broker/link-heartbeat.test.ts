import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LinkClosed, nextEvent, startTestFederation } from './broker.fixtures.ts';
import { LinkHeartbeat } from './link-heartbeat.ts';
import { relayedFlow } from './relay.fixtures.ts';

describe('LinkHeartbeat: one timer for every connection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats every member once a tick, and runs only while it has members', () => {
    vi.useFakeTimers();
    const heartbeat = new LinkHeartbeat(100);
    const beats: string[] = [];
    const one = { beat: () => beats.push('one') };
    const two = { beat: () => beats.push('two') };
    heartbeat.add(one);
    heartbeat.add(two);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    expect(beats).toEqual(['one', 'two']);

    heartbeat.delete(one);
    vi.advanceTimersByTime(100);
    expect(beats).toEqual(['one', 'two', 'two']);

    heartbeat.delete(two);
    expect(heartbeat.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    heartbeat.add(one);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    expect(beats).toEqual(['one', 'two', 'two', 'one']);
    heartbeat.delete(one);
  });
});

describe('a peer link whose connection goes silent', () => {
  it('is closed as PEER_UNREACHABLE at both ends, redialed, and loses no QoS 1 publish', async () => {
    await using federation = await startTestFederation({
      brokers: [],
      broker: { reconnectBaseMs: 20, reconnectMaxMs: 200, pingIntervalMs: 100 },
    });
    await using flow = await relayedFlow(federation, 'beat');
    const { a, p, toA, toP, subscriber, publisher } = flow;

    // The connection stays up but carries nothing, as behind a dead router: only the pings can
    // tell. Without them neither end would ever close it.
    const unreachable = (event: LinkClosed) => event.code === 'PEER_UNREACHABLE';
    const closedAtA = nextEvent<LinkClosed>(a.events, 'link-closed', unreachable, 20_000);
    const closedAtP = nextEvent<LinkClosed>(p.events, 'link-closed', unreachable, 20_000);
    // Redials are refused until both ends have given up on the silent connection: the end that
    // gives up first would otherwise redial, and its new connection would replace the other
    // end's silent one (LINK_EXISTS) before that end's own heartbeat found it.
    for (const relay of [toA, toP]) {
      relay.freeze();
      relay.refuse();
    }
    const during = Array.from({ length: 5 }, (_, i) => `during-${i}`);
    for (const payload of during) await publisher.publish('beat/x', payload, 1);

    expect((await closedAtA).peer).toBe('p');
    expect((await closedAtP).peer).toBe('a');
    toA.unblock();
    toP.unblock();
    // The redial goes through the relays' new connections, which carry bytes again.
    const received = await subscriber.receivedCount(1 + during.length, 20_000);
    expect(new Set(received.map((m) => m.payload.toString()))).toEqual(
      new Set(['before', ...during]),
    );
  });
});
