import { describe, expect, it } from 'vitest';
import { narrowToScope } from './consume-scope.ts';

describe('local interest is narrowed to what this broker may consume', () => {
  it.each<[string, string[], string[], string[]]>([
    ['keeps filters inside the scope', ['a/b', 'a/+/c'], ['a/#'], ['a/+/c', 'a/b']],
    [
      'narrows a broader filter to the scope entries it covers',
      ['#'],
      ['a/#', 'b/+'],
      ['a/#', 'b/+'],
    ],
    ['leaves out a filter that only partly overlaps the scope', ['+/x'], ['a/#'], []],
    ['leaves out a filter outside the scope', ['c/d'], ['a/#'], []],
    ['drops a filter another kept one covers', ['#', 'a/b'], ['a/#'], ['a/#']],
    ['keeps everything under the full scope', ['a/b', '+/c'], ['#'], ['+/c', 'a/b']],
    ['subscribes nothing with an empty scope', ['#'], [], []],
  ])('%s', (_case, filters, scope, expected) => {
    expect(narrowToScope(filters, scope)).toEqual(expected);
  });
});
