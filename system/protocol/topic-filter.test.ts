import { describe, expect, it } from 'vitest';
import {
  filterCovers,
  filtersIntersect,
  isValidTopicFilter,
  isValidTopicName,
  topicMatches,
} from './topic-filter.ts';

describe('topic names and filters follow MQTT 3.1.1 §4.7', () => {
  it.each([
    ['a', true],
    ['a/b/c', true],
    ['/', true],
    ['a//b', true],
    ['$SYS/broker', true],
    [' ', true],
    ['', false],
    ['a/+', false],
    ['a/#', false],
    ['a\u0000b', false],
    ['x'.repeat(65_535), true],
    ['x'.repeat(65_536), false],
  ])('topic name %j is valid: %s', (topic, valid) => {
    expect(isValidTopicName(topic)).toBe(valid);
  });

  it.each([
    ['#', true],
    ['+', true],
    ['a/+/c', true],
    ['a/#', true],
    ['+/+', true],
    ['/#', true],
    ['$SYS/#', true],
    ['', false],
    ['a/#/c', false],
    ['a#', false],
    ['a/b#', false],
    ['a+/b', false],
    ['a/+b', false],
    ['##', false],
    ['a\u0000', false],
  ])('topic filter %j is valid: %s', (filter, valid) => {
    expect(isValidTopicFilter(filter)).toBe(valid);
  });
});

describe('a filter matches a topic', () => {
  it.each([
    // Examples from the specification text
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', 'anything/at/all', true],
    // '$' topics are not matched by a leading wildcard
    ['#', '$SYS/uptime', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/$x', 'a/$x', true],
    ['a/+', 'a/$x', true],
    // Case and empty levels are significant
    ['ACCOUNTS', 'Accounts', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a/b', 'a/b/', false],
  ])('%j matches %j: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('two filters intersect and one covers another', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', '+/b', true],
    ['a/#', 'a', true],
    ['a/#', '+/b/c', true],
    ['a/+', 'a/b/c', false],
    ['a/+/#', 'a', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['#', '+', true],
    ['$SYS/#', '$SYS/+', true],
    ['a', 'b/#', false],
  ])('%j and %j intersect: %s', (a, b, expected) => {
    expect(filtersIntersect(a, b)).toBe(expected);
    expect(filtersIntersect(b, a)).toBe(expected);
  });

  it.each([
    ['#', 'a/b', true],
    ['a/#', 'a', true],
    ['a/#', 'a/+/c', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/#', false],
    ['a/b', 'a/+', false],
    ['+/+', 'a/b', true],
    ['#', '$SYS/x', false],
    ['#', '+/x', true],
    ['+', 'a/b', false],
    ['a/+', 'a', false],
  ])('%j covers %j: %s', (broad, narrow, expected) => {
    expect(filterCovers(broad, narrow)).toBe(expected);
  });
});

/**
 * Exhaustive check against a brute-force oracle. Over a small alphabet, every filter of up to
 * three levels and every topic of up to four levels are enumerated. The topic universe includes a
 * fresh level ('z') no filter names, so a witness topic exists in it whenever one exists at all.
 */
describe('exhaustive agreement with a brute-force oracle', () => {
  const filterLevels = ['a', 'b', '$s', '', '+', '#'];
  const topicLevels = ['a', 'b', '$s', '', 'z'];

  function sequences(alphabet: string[], maxDepth: number): string[][] {
    const out: string[][] = [];
    let frontier: string[][] = [[]];
    for (let depth = 1; depth <= maxDepth; depth++) {
      frontier = frontier.flatMap((prefix) => alphabet.map((level) => [...prefix, level]));
      out.push(...frontier);
    }
    return out;
  }

  const filters = sequences(filterLevels, 3)
    .map((levels) => levels.join('/'))
    .filter(isValidTopicFilter);
  const topics = sequences(topicLevels, 4)
    .map((levels) => levels.join('/'))
    .filter(isValidTopicName);
  const matchSets = new Map(
    filters.map((f) => [f, new Set(topics.filter((t) => topicMatches(f, t)))]),
  );

  it('enumerates a meaningful universe', () => {
    expect(filters.length).toBeGreaterThan(100);
    expect(topics.length).toBeGreaterThan(500);
  });

  it('topicMatches agrees with a level-by-level regular-expression oracle', () => {
    const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const f of filters) {
      const levels = f.split('/');
      let pattern = levels
        .map((level) => (level === '+' ? '[^/]*' : level === '#' ? null : escapeRegExp(level)))
        .filter((p) => p !== null)
        .join('/');
      if (levels.at(-1) === '#') pattern = levels.length === 1 ? '.*' : `${pattern}(/.*)?`;
      const oracle = new RegExp(`^${pattern}$`);
      for (const t of topics) {
        const dollarBlocked = (levels[0] === '+' || levels[0] === '#') && t.startsWith('$');
        expect(topicMatches(f, t), `${f} vs ${t}`).toBe(!dollarBlocked && oracle.test(t));
      }
    }
  });

  it('filtersIntersect is true exactly when some topic matches both', () => {
    for (const a of filters) {
      const setA = matchSets.get(a)!;
      for (const b of filters) {
        const setB = matchSets.get(b)!;
        const witness = [...setA].some((t) => setB.has(t));
        expect(filtersIntersect(a, b), `${a} ∩ ${b}`).toBe(witness);
      }
    }
  });

  it('filterCovers is true exactly when every topic of the narrow filter matches the broad one', () => {
    for (const broad of filters) {
      const setBroad = matchSets.get(broad)!;
      for (const narrow of filters) {
        const all = [...matchSets.get(narrow)!].every((t) => setBroad.has(t));
        expect(filterCovers(broad, narrow), `${broad} ⊇ ${narrow}`).toBe(all);
      }
    }
  });
});
