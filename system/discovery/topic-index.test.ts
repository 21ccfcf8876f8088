import { describe, expect, it } from 'vitest';
import { MqfedError } from '../protocol/index.ts';
import { createTopicIndex, matchingTopics } from './topic-index.ts';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof MqfedError ? error.code : 'not an MqfedError';
  }
  return undefined;
}

describe('the topic index keeps each broker’s advertised topics', () => {
  it('applies a delta and reports only what really changed', () => {
    const index = createTopicIndex(10);
    index.replace('b1', ['a/b', 'c']);
    expect(index.apply('b1', { add: ['c', 'd/#'], remove: ['a/b', 'zzz'] })).toEqual({
      added: ['d/#'],
      removed: ['a/b'],
    });
    expect(index.topicsOf('b1')).toEqual(['c', 'd/#']);
  });

  it('refuses a delta that would go over the cap and changes nothing', () => {
    const index = createTopicIndex(3);
    index.replace('b1', ['a', 'b']);
    expect(codeOf(() => index.apply('b1', { add: ['c', 'd'] }))).toBe('TOPIC_LIMIT_EXCEEDED');
    expect(index.topicsOf('b1')).toEqual(['a', 'b']);
    // Removing in the same delta makes room.
    expect(index.apply('b1', { add: ['c', 'd'], remove: ['a'] }).added).toEqual(['c', 'd']);
    expect(codeOf(() => index.replace('b2', ['1', '2', '3', '4']))).toBe('TOPIC_LIMIT_EXCEEDED');
  });

  it('refuses a delta that adds and removes the same entry', () => {
    const index = createTopicIndex(10);
    expect(codeOf(() => index.apply('b1', { add: ['a'], remove: ['a'] }))).toBe('INVALID_REQUEST');
  });

  it.each<[string, string[], string, string[]]>([
    ['an exact topic', ['a/b', 'a/c'], 'a/b', ['a/b']],
    ['a + filter against topics', ['a/b', 'a/c', 'x/b'], 'a/+', ['a/b', 'a/c']],
    ['a # filter against topics', ['a', 'a/b/c', 'b'], 'a/#', ['a', 'a/b/c']],
    ['a topic against advertised filters', ['a/+', 'b/#', 'c'], 'a/x', ['a/+']],
    ['wildcards on both sides', ['a/+/c', 'x/#'], '+/b/#', ['a/+/c', 'x/#']],
    ['# never meets $ topics', ['$SYS/load', 'a'], '#', ['a']],
    ['a $ filter meets $ entries', ['$SYS/load', '$SYS/#', 'a'], '$SYS/+', ['$SYS/#', '$SYS/load']],
  ])('matches %s', (_name, topics, filter, matched) => {
    expect(matchingTopics(topics, [filter])).toEqual(matched);
  });
});
