import { describe, expect, it } from 'vitest';
import {
  clientRandom,
  createMobility,
  type MobileClientInfo,
  type MobilityModel,
  parseTrace,
  randomMoves,
  roundRobin,
  traceMoves,
} from './mobility.ts';
import type { MobilitySpec } from './scenario.ts';

const brokers = ['a', 'b', 'c'];
const client = (index: number, broker = 'a', count = 3): MobileClientInfo => ({
  id: `m-${index}`,
  index,
  count,
  broker,
  brokers,
});

/** Where a model puts a client at each of `times`. */
function path(model: MobilityModel, info: MobileClientInfo, times: number[], seed = 1): string[] {
  const random = clientRandom(seed, info.index);
  return times.map((t) => model(info, t, random) ?? '-');
}

const everySecond = Array.from({ length: 10 }, (_, i) => i * 1_000);

describe('mobility models', () => {
  it('round-robin starts client i on broker i and moves to the next every dwell', () => {
    const model = roundRobin(1_000);
    expect(path(model, client(0, 'a', 1), everySecond)).toEqual([
      'a',
      'b',
      'c',
      'a',
      'b',
      'c',
      'a',
      'b',
      'c',
      'a',
    ]);
    expect(model(client(1, 'b', 3), 0, Math.random)).toBe('b');
  });

  it('round-robin staggers a group so its clients do not all move at once', () => {
    const model = roundRobin(900);
    const moveTimes = [0, 1, 2].map((index) => {
      const info = client(index);
      const start = model(info, 0, Math.random);
      for (let t = 0; t <= 900; t += 10) if (model(info, t, Math.random) !== start) return t;
      return undefined;
    });
    expect(moveTimes).toEqual([900, 600, 300]);
  });

  it('random moves are the same for the same seed, whatever order they are asked in', () => {
    const forward = path(randomMoves(1_000, 42), client(2), everySecond);
    const shuffled = randomMoves(1_000, 42);
    const backwards = [...everySecond].reverse().map((t) => shuffled(client(2), t, Math.random));
    expect(backwards.reverse()).toEqual(forward);
    expect(path(randomMoves(1_000, 42), client(2), everySecond)).toEqual(forward);
    // Every dwell it goes somewhere else, and another seed goes elsewhere.
    for (let i = 1; i < forward.length; i++) expect(forward[i]).not.toBe(forward[i - 1]);
    expect(path(randomMoves(1_000, 7), client(2), everySecond)).not.toEqual(forward);
  });

  it('a trace puts each client where its latest step says, and leaves it alone before', () => {
    const model = traceMoves(
      parseTrace('tMs,client,broker\n# a comment\n500,m-0,b\n0,m-0,a\n\n1500,m-0,c\n200,m-1,c\n'),
    );
    expect(path(model, client(0), [0, 499, 500, 1_499, 1_500, 9_000])).toEqual([
      'a',
      'a',
      'b',
      'b',
      'c',
      'c',
    ]);
    expect(path(model, client(1), [0, 200])).toEqual(['-', 'c']);
    expect(path(model, client(2), [5_000])).toEqual(['-']);
  });

  it('a trace line that does not parse names its line number', () => {
    expect(() => parseTrace('0,m-0,a\nsoon,m-0,b')).toThrow(/line 2/);
  });

  it('a custom model is a plain function, and its random is seeded per client', () => {
    const hop: MobilityModel = (info, now, random) =>
      now < 1_000 ? undefined : info.brokers[Math.floor(random() * info.brokers.length)];
    const model = createMobility({ kind: 'custom', name: 'hop', model: hop }, 9);
    expect(path(model, client(1), everySecond, 9)).toEqual(path(model, client(1), everySecond, 9));
    expect(path(model, client(1), [0], 9)).toEqual(['-']);
  });

  it('createMobility builds each declared kind deterministically from the run seed', () => {
    const specs: MobilitySpec[] = [
      { kind: 'round-robin', dwellMs: 700 },
      { kind: 'random', dwellMs: 700 },
      { kind: 'trace', steps: [{ tMs: 100, client: 'm-0', broker: 'c' }] },
    ];
    for (const spec of specs) {
      const first = path(createMobility(spec, 5), client(0), everySecond, 5);
      expect(path(createMobility(spec, 5), client(0), everySecond, 5)).toEqual(first);
    }
  });
});
