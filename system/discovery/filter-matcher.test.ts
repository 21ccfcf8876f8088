import { describe, expect, it } from 'vitest';
import { seededRandom } from '../common/index.ts';
import { filtersIntersect, isValidTopicFilter } from '../protocol/index.ts';
import { createFilterMatcher } from './filter-matcher.ts';

/** Random valid filters over a small alphabet, so that the rare cases ('$', '', '#') come up. */
function randomFilter(random: () => number): string {
  const alphabet = ['a', 'b', '$s', '', '+', '+', '#'];
  for (;;) {
    const length = 1 + Math.floor(random() * 4);
    const levels = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]);
    const filter = levels.join('/');
    if (isValidTopicFilter(filter)) return filter;
  }
}

describe('the filter matcher answers what a scan with filtersIntersect answers', () => {
  it('agrees on random filters and entries, wildcards and "$" levels on both sides', () => {
    const random = seededRandom(12);
    let agreed = 0;
    let matched = 0;
    for (let round = 0; round < 400; round++) {
      const filters = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
        randomFilter(random),
      );
      const matcher = createFilterMatcher(filters);
      for (let i = 0; i < 40; i++) {
        const entry = randomFilter(random);
        const expected = filters.some((filter) => filtersIntersect(filter, entry));
        // The message names the case that disagrees, to replay it by hand.
        expect(matcher.matches(entry), `${entry} against ${JSON.stringify(filters)}`).toBe(
          expected,
        );
        agreed++;
        if (expected) matched++;
      }
    }
    // Both answers came up often enough for the comparison to mean something.
    expect(matched).toBeGreaterThan(agreed / 5);
    expect(matched).toBeLessThan((agreed * 4) / 5);
  });

  it('stays exact once its cache of steps is full', () => {
    const random = seededRandom(7);
    const filters = Array.from({ length: 30 }, () => randomFilter(random));
    const tiny = createFilterMatcher(filters, { maxCachedNodes: 8 });
    for (let i = 0; i < 2000; i++) {
      const entry = randomFilter(random);
      expect(tiny.matches(entry)).toBe(filters.some((filter) => filtersIntersect(filter, entry)));
    }
  });

  it('handles the edge cases of the first level', () => {
    const cases: [string, string, boolean][] = [
      ['#', '$SYS/x', false],
      ['+/x', '$SYS/x', false],
      ['$SYS/#', '#', false],
      ['$SYS/#', '+/x', false],
      ['$SYS/#', '$SYS/x', true],
      ['/#', '+', false],
      ['+', '/#', false],
      ['+/+', '/', true],
      ['+', '/', false],
      ['a/#', 'a', true],
      ['a', 'a/#', true],
      ['a/+', 'a', false],
      ['#', '+', true],
    ];
    for (const [filter, entry, expected] of cases) {
      expect(filtersIntersect(filter, entry), `${filter} ~ ${entry}`).toBe(expected);
      expect(createFilterMatcher([filter]).matches(entry), `${filter} ~ ${entry}`).toBe(expected);
    }
  });

  it('returns the matching entries sorted, and nothing without filters', () => {
    const matcher = createFilterMatcher(['s/+/t', 'x/#']);
    expect(matcher.matching(['x', 's/1/t', 'a/b', 'x/y/z', 's/+/+'])).toEqual([
      's/+/+',
      's/1/t',
      'x',
      'x/y/z',
    ]);
    expect(createFilterMatcher([]).matching(['a', '#'])).toEqual([]);
  });
});
