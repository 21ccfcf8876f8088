import { describe, expect, it } from 'vitest';
import { createFilterMatcher } from '../discovery/index.ts';
import { filtersIntersect } from '../protocol/index.ts';
import { InterestTable } from './interest-table.ts';
import type { PeerDirectory, PeerRecord } from './peer-directory.ts';
import type { PeerLinkContext } from './peer-link.ts';
import { PeerLinks, wantedFrom } from './peer-links.ts';

/** The rule as it was written before the index: every local filter against every peer topic. */
const scan = (local: readonly string[], topics: readonly string[]) =>
  local.filter((filter) => topics.some((topic) => filtersIntersect(filter, topic)));

describe('which local filters a peer serves', () => {
  it('is the filters that meet one of its advertised topics, with wildcards on both sides', () => {
    const topics = ['s/+/temp', 'home/kitchen/#', 'plain/topic', '$SYS/broker/load', '+/alarm'];
    const local = [
      's/7/temp', // an exact filter inside the peer's `+`
      's/#', // a local `#` over the peer's `+`
      's/7/humidity', // same prefix, another last level: no
      '+/+/temp', // wildcards meeting wildcards
      'home/+', // `+` against the peer's `#` (which also matches its parent)
      'home', // the parent level of `home/kitchen/#`? no: `home/kitchen` is not `home`
      'home/kitchen', // the parent of the peer's `#`: yes
      'plain/topic',
      'plain/+/deeper', // longer than the peer's exact topic: no
      '#', // meets everything but the `$` topic
      '$SYS/#', // pinned to `$SYS`: meets only the `$` topic
      '+/broker/load', // a leading wildcard never meets a `$` topic
      'fire/alarm', // meets the peer's `+/alarm`
    ];
    const wanted = wantedFrom(local, createFilterMatcher(topics));
    expect(wanted).toEqual([
      's/7/temp',
      's/#',
      '+/+/temp',
      'home/+',
      'home/kitchen',
      'plain/topic',
      '#',
      '$SYS/#',
      'fire/alarm',
    ]);
    expect(wanted).toEqual(scan(local, topics));
  });

  it('agrees with the scan on generated filters and topics', () => {
    // A small level alphabet, so that wildcards, empty levels and `$` names meet often.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const levels = ['a', 'b', '', '$s', '+'];
    const filter = (): string => {
      const count = 1 + Math.floor(random() * 4);
      const parts: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const level = levels[Math.floor(random() * levels.length)] ?? 'a';
        // `$` names only where MQTT gives them meaning, at the first level.
        parts.push(level === '$s' && i > 0 ? 'a' : level);
      }
      if (random() < 0.3) parts.push('#');
      return parts.join('/');
    };
    for (let round = 0; round < 200; round += 1) {
      const topics = Array.from({ length: 1 + Math.floor(random() * 6) }, filter);
      const local = Array.from({ length: 20 }, filter);
      expect(wantedFrom(local, createFilterMatcher(topics)), `${topics}`).toEqual(
        scan(local, topics),
      );
    }
  });
});

/** PeerLinks over a directory of peers whose topics no local filter meets: no link, no network. */
function routesWithoutLinks(ids: readonly string[], refreshRate?: number) {
  const lookups: string[] = [];
  const waiters = new Set<() => void>();
  const records = new Map<string, PeerRecord>();
  const setTopics = (id: string, topics: string[]) =>
    records.set(id, {
      id,
      linkUrl: 'ws://127.0.0.1:1/link',
      topics: new Set(topics),
      interest: new Set(),
    });
  for (const id of ids) setTopics(id, [`elsewhere/${id}`]);
  const directory: PeerDirectory = {
    get: (peerId) => {
      lookups.push(peerId);
      for (const wake of waiters) wake();
      return records.get(peerId);
    },
    peers: () => records.values(),
    ready: Promise.resolve(),
    close: async () => {},
  };
  const interest = new InterestTable();
  interest.add('here/#');
  const context = { store: { peersWithOutbox: () => [] } } as unknown as PeerLinkContext;
  const links = new PeerLinks(context, interest, ['#'], refreshRate);
  links.useDirectory(directory);
  /** Resolves once `count` lookups happened in all. */
  const lookedUp = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (lookups.length < count) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return { links, lookups, lookedUp, setTopics };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('peer route refreshes', () => {
  it('are coalesced: many changes of a peer in one turn recompute its routes once', async () => {
    const { links, lookups } = routesWithoutLinks(['p1', 'p2']);
    // A change of local interest recomputes every peer at once (useDirectory does it too).
    expect(lookups.sort()).toEqual(['p1', 'p2']);
    lookups.length = 0;
    links.refreshAll();
    expect(lookups.sort()).toEqual(['p1', 'p2']);
    lookups.length = 0;
    // Changes of peers' records wait for the end of the turn, and count once per peer.
    for (let i = 0; i < 100; i += 1) links.refresh('p1');
    links.refresh('p2');
    links.refresh('p1');
    expect(lookups).toEqual([]);
    await nextTurn();
    expect(lookups.sort()).toEqual(['p1', 'p2']);
    expect(links.snapshot()).toEqual([]);
    await links.close();
    links.refresh('p1');
    await nextTurn();
    expect(lookups).toHaveLength(2);
  });

  it('are rate-limited per peer: a peer churning its record waits, and its changes come as one', async () => {
    // 2 a second, bursts of 2: the third change in a row waits about half a second.
    const { links, lookups, lookedUp, setTopics } = routesWithoutLinks(['churner', 'quiet'], 2);
    lookups.length = 0;
    const started = performance.now();
    for (let turn = 0; turn < 10; turn += 1) {
      setTopics('churner', [`elsewhere/${turn}`]);
      links.refresh('churner');
      await nextTurn();
    }
    expect(lookups).toEqual(['churner', 'churner']);
    // Another peer has its own budget.
    links.refresh('quiet');
    await nextTurn();
    expect(lookups).toEqual(['churner', 'churner', 'quiet']);
    // The eight later changes: one refresh, when the budget allows.
    await lookedUp(4);
    expect(lookups).toEqual(['churner', 'churner', 'quiet', 'churner']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    await links.close();
  });
});
