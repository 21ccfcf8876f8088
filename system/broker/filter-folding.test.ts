import { describe, expect, it } from 'vitest';
import { filterCovers } from '../protocol/index.ts';
import { foldFilters } from './filter-folding.ts';

/** Every input filter is covered by an advertised one, and every advertised one by the scope. */
function expectSafe(
  input: readonly string[],
  result: { filters: string[] },
  scope: readonly string[],
) {
  for (const filter of input) {
    expect(
      result.filters.some((entry) => filterCovers(entry, filter)),
      `${filter} is covered`,
    ).toBe(true);
  }
  for (const entry of result.filters) {
    expect(
      scope.some((allowed) => filterCovers(allowed, entry)),
      `${entry} is in scope`,
    ).toBe(true);
  }
}

describe('interest folded to fit a cap', () => {
  it('is left exactly as it is within the cap', () => {
    expect(foldFilters(['b/1', 'a/+', 'b/1'], 2, ['#'])).toEqual({
      filters: ['a/+', 'b/1'],
      folded: 0,
    });
  });

  it('keeps the deepest prefix that fits, one depth for all: many s/N/x become s/#', () => {
    const input = [
      ...Array.from({ length: 50 }, (_, i) => `s/${i}/x`),
      'home/kitchen/temp',
      'home/kitchen/humidity',
    ];
    const result = foldFilters(input, 10, ['#']);
    expect(result.filters).toEqual(['home/#', 's/#']);
    expect(result.folded).toBe(52);
    expectSafe(input, result, ['#']);
  });

  it('folds no further than needed: a deeper cut that fits wins over a shallower one', () => {
    const input = [
      ...Array.from({ length: 20 }, (_, i) => `a/b/${i}/x`),
      ...Array.from({ length: 20 }, (_, i) => `a/c/${i}/x`),
    ];
    const result = foldFilters(input, 3, ['#']);
    expect(result.filters).toEqual(['a/b/#', 'a/c/#']);
  });

  it('never leaves the scope: a broad prefix is cut down to the scope entry that allowed it', () => {
    const scope = ['s/+/temp', 'd/7/#'];
    const input = [
      ...Array.from({ length: 30 }, (_, i) => `s/${i}/temp`),
      ...Array.from({ length: 30 }, (_, i) => `d/7/${i}/x`),
    ];
    const result = foldFilters(input, 4, scope);
    // `s/#` would be outside the scope; its meet with `s/+/temp` is the scope entry itself.
    expect(result.filters).toEqual(['d/7/#', 's/+/temp']);
    expectSafe(input, result, scope);
  });

  it('keeps `$` filters and leading wildcards apart, and always covers what it is given', () => {
    const input = [
      ...Array.from({ length: 10 }, (_, i) => `$share/${i}`),
      ...Array.from({ length: 10 }, (_, i) => `+/${i}/y`),
      ...Array.from({ length: 10 }, (_, i) => `q/${i}`),
      'q',
    ];
    const result = foldFilters(input, 3, ['#', '$share/#']);
    expect(result.filters).toEqual(['$share/#', '+/#', 'q/#']);
    expectSafe(input, result, ['#', '$share/#']);
  });

  it('falls back to the scope entries when even one level does not fit', () => {
    const scope = ['a/#', 'b/#', 'c/#'];
    const input = Array.from({ length: 30 }, (_, i) => `${'abc'[i % 3]}/${i}`);
    const result = foldFilters(input, 2, scope);
    expect(result.filters).toEqual(scope);
    expectSafe(input, result, scope);
  });
});
