import { describe, expect, it } from 'vitest';
import { seededRandom } from '../common/index.ts';
import { filterCovers, MqfedError } from '../protocol/index.ts';
import { type InterestDelta, InterestTable } from './interest-table.ts';

type Step = [op: 'add' | 'remove', filter: string, subscribe: string[], unsubscribe: string[]];

function run(steps: Step[]): InterestTable {
  const table = new InterestTable();
  steps.forEach(([op, filter, subscribe, unsubscribe], index) => {
    const delta = op === 'add' ? table.add(filter) : table.remove(filter);
    expect(delta, `step ${index + 1}: ${op} ${filter}`).toEqual({ subscribe, unsubscribe });
  });
  return table;
}

describe('the interest table sends each interest to peers once, in its broadest form', () => {
  it.each<[string, Step[]]>([
    ['a first subscription is sent', [['add', 'a/b', ['a/b'], []]]],
    [
      'a filter held by two clients is sent once and withdrawn after the last one leaves',
      [
        ['add', 'a/b', ['a/b'], []],
        ['add', 'a/b', [], []],
        ['remove', 'a/b', [], []],
        ['remove', 'a/b', [], ['a/b']],
      ],
    ],
    [
      'a broader filter replaces the narrow one, and hands back to it when it goes',
      [
        ['add', 'a/b', ['a/b'], []],
        ['add', 'a/#', ['a/#'], ['a/b']],
        ['remove', 'a/#', ['a/b'], ['a/#']],
      ],
    ],
    [
      'a filter already covered is not sent, and leaving is no change either',
      [
        ['add', 'a/#', ['a/#'], []],
        ['add', 'a/+/c', [], []],
        ['remove', 'a/+/c', [], []],
      ],
    ],
    [
      '# and +/# cover each other: # wins whatever the order, and nothing flips back',
      [
        ['add', '+/#', ['+/#'], []],
        ['add', '#', ['#'], ['+/#']],
        ['add', '+/#', [], []],
        ['remove', '#', ['+/#'], ['#']],
        ['add', '#', ['#'], ['+/#']],
      ],
    ],
    [
      '# does not cover $ topics, so a $ filter is sent beside it',
      [
        ['add', '#', ['#'], []],
        ['add', '$SYS/#', ['$SYS/#'], []],
      ],
    ],
    [
      'removing a broad filter promotes only the filters nothing else covers',
      [
        ['add', 'a/b', ['a/b'], []],
        ['add', 'a/+/c', ['a/+/c'], []],
        ['add', 'a/#', ['a/#'], ['a/+/c', 'a/b']],
        ['add', 'b', ['b'], []],
        ['add', '#', ['#'], ['a/#', 'b']],
        ['remove', '#', ['a/#', 'b'], ['#']],
      ],
    ],
    [
      'a promoted filter that a sibling promotion covers is not sent at all',
      [
        ['add', 'a/b/c', ['a/b/c'], []],
        ['add', 'a/b/#', ['a/b/#'], ['a/b/c']],
        ['add', 'a/#', ['a/#'], ['a/b/#']],
        ['add', '#', ['#'], ['a/#']],
        ['remove', '#', ['a/#'], ['#']],
      ],
    ],
    ['removing a filter never added is no change', [['remove', 'x', [], []]]],
  ])('%s', (_name, steps) => {
    run(steps);
  });

  it('counts references and lists active and effective filters', () => {
    const table = run([
      ['add', 'a/b', ['a/b'], []],
      ['add', 'a/b', [], []],
      ['add', 'a/#', ['a/#'], ['a/b']],
    ]);
    expect(table.refCount('a/b')).toBe(2);
    expect(table.refCount('zzz')).toBe(0);
    expect(table.filters()).toEqual(['a/#', 'a/b']);
    expect(table.effective()).toEqual(['a/#']);
    expect(table.size).toBe(2);
  });

  it('refuses an invalid filter with INVALID_REQUEST', () => {
    const table = new InterestTable();
    expect(() => table.add('a/#/b')).toThrowError(MqfedError);
    expect(() => table.add('')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(table.size).toBe(0);
  });

  it('tells whether a topic is of local interest', () => {
    const table = new InterestTable();
    table.add('a/+/c');
    table.add('#');
    expect(table.matches('a/b/c')).toBe(true);
    expect(table.matches('x')).toBe(true);
    expect(table.matches('$SYS/load')).toBe(false);
    table.remove('#');
    expect(table.matches('x')).toBe(false);
  });

  it('subscribes on a peer only the filters its advertised topic space can serve', () => {
    const table = new InterestTable();
    for (const filter of ['a/#', 'b/+', '$SYS/#', 'c']) table.add(filter);
    expect(table.effectiveFor(['a/x', 'd'])).toEqual(['a/#']);
    expect(table.effectiveFor(['b/+/z', 'b/y'])).toEqual(['b/+']);
    expect(table.effectiveFor(['#'])).toEqual(['a/#', 'b/+', 'c']);
    expect(table.effectiveFor([])).toEqual([]);
  });
});

function randomFilter(next: () => number): string {
  const words = ['a', 'b', '', '$s', '+'];
  const length = Math.floor(next() * 4);
  const levels = Array.from({ length }, () => words[Math.floor(next() * words.length)]!);
  if (length === 0 || next() < 0.3) levels.push('#');
  return levels.join('/') || '/';
}

describe('the effective set holds its invariants after any sequence', () => {
  it.each([11, 12, 13, 14])('seed %i', (seed) => {
    const next = seededRandom(seed);
    const table = new InterestTable();
    const held: string[] = []; // one entry per live subscription
    const onPeer = new Set<string>(); // what a peer has after applying every delta
    const apply = (delta: InterestDelta, label: string) => {
      for (const filter of delta.unsubscribe) expect(onPeer.delete(filter), label).toBe(true);
      for (const filter of delta.subscribe) {
        expect(onPeer.has(filter), `${label}: sent twice`).toBe(false);
        onPeer.add(filter);
      }
    };
    for (let i = 0; i < 600; i++) {
      const label = `seed ${seed} step ${i}`;
      if (held.length > 0 && next() < 0.45) {
        const [filter] = held.splice(Math.floor(next() * held.length), 1);
        apply(table.remove(filter!), label);
      } else {
        const filter = randomFilter(next);
        held.push(filter);
        apply(table.add(filter), label);
      }
      const effective = table.effective();
      expect([...onPeer].sort(), label).toEqual(effective);
      for (const filter of table.filters()) {
        expect(
          effective.some((member) => filterCovers(member, filter)),
          label,
        ).toBe(true);
      }
      for (const a of effective) {
        for (const b of effective) if (a !== b) expect(filterCovers(a, b), label).toBe(false);
      }
    }
    // History does not matter: the same active filters added in another order agree.
    const fresh = new InterestTable();
    for (const filter of [...new Set(held)].reverse()) fresh.add(filter);
    expect(fresh.effective()).toEqual(table.effective());
  });
});
