import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  parseDuration,
  parseHttpUrl,
  parseList,
  parseLogLevel,
  parsePeerRoutes,
  parsePort,
} from './parsers.ts';

describe('flag values are parsed or refused with a reason', () => {
  it.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['250', 250],
    ['1.5s', 1_500],
  ])('duration %s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '10 minutes', '-5s', '0s', '5d'])('duration %j is refused', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
  });

  it('accepts ports 0..65535 only', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('65535')).toBe(65_535);
    for (const bad of ['65536', '-1', 'abc', '80.5', '']) {
      expect(() => parsePort(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('accepts http(s) URLs and drops a trailing slash', () => {
    expect(parseHttpUrl('http://127.0.0.1:4000/')).toBe('http://127.0.0.1:4000');
    expect(() => parseHttpUrl('ftp://x')).toThrow(InvalidArgumentError);
    expect(() => parseHttpUrl('not a url')).toThrow(InvalidArgumentError);
  });

  it('parses log levels and comma lists', () => {
    expect(parseLogLevel('debug')).toBe('debug');
    expect(() => parseLogLevel('loud')).toThrow(InvalidArgumentError);
    expect(parseList(' a/# , b/+ ,,')).toEqual(['a/#', 'b/+']);
  });

  it('collects peer routes from repeated flags and comma lists, and names a bad pair', () => {
    const first = parsePeerRoutes('b2=ws://127.0.0.1:9002/peer');
    expect(parsePeerRoutes('b3=ws://h:1/peer, b4=wss://h:2/peer', first)).toEqual({
      b2: 'ws://127.0.0.1:9002/peer',
      b3: 'ws://h:1/peer',
      b4: 'wss://h:2/peer',
    });
    expect(() => parsePeerRoutes('b2=http://h:1/peer')).toThrow(/b2=http/);
    expect(() => parsePeerRoutes('ws://h:1/peer')).toThrow(InvalidArgumentError);
  });
});
