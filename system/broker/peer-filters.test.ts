import { describe, expect, it } from 'vitest';
import { PeerFilters } from './peer-filters.ts';

describe('the filters a peer subscribed', () => {
  it('match exact topics and wildcards, and forget what is deleted', () => {
    const filters = new PeerFilters();
    filters.add('a/b');
    filters.add('s/+/t');
    filters.add('x/#');
    expect(['a/b', 's/1/t', 'x', 'x/y/z', 'a/c', 's/1/2/t'].map((t) => filters.matches(t))).toEqual(
      [true, true, true, true, false, false],
    );
    filters.delete('x/#');
    expect(filters.matches('x/y')).toBe(false);
    expect([...filters].sort()).toEqual(['a/b', 's/+/t']);
    expect(filters.size).toBe(2);
    filters.clear();
    expect(filters.matches('a/b')).toBe(false);
  });

  it('do not let wildcards match $ topics', () => {
    const filters = new PeerFilters();
    filters.add('#');
    expect(filters.matches('$SYS/x')).toBe(false);
    expect(filters.matches('a')).toBe(true);
  });
});
