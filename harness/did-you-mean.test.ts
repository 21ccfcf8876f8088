import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from './did-you-mean.ts';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['rate', 'rate', 0],
    ['', 'qos', 3],
    ['payloadByte', 'payloadBytes', 1],
    ['rat', 'rate', 1],
    ['kitten', 'sitting', 3],
    ['tpoics', 'topics', 1],
    ['dwelMs', 'dwellMs', 1],
  ])('from %j to %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('didYouMean', () => {
  const fields = ['name', 'count', 'broker', 'rate', 'payloadBytes', 'qos', 'topics'];

  it('suggests the known word one typo away', () => {
    expect(didYouMean('payloadByte', fields)).toBe('payloadBytes');
    expect(didYouMean('tpoics', fields)).toBe('topics');
    expect(didYouMean('brokers', fields)).toBe('broker');
  });

  it('ignores case', () => {
    expect(didYouMean('PayloadBytes', fields)).toBe('payloadBytes');
  });

  it('prefers the closest of several near words', () => {
    expect(didYouMean('rates', ['ratio', 'rate'])).toBe('rate');
  });

  it('suggests nothing when every word is too far to be a typo', () => {
    expect(didYouMean('speed', fields)).toBeUndefined();
    expect(didYouMean('q', fields)).toBeUndefined();
    expect(didYouMean('anything', [])).toBeUndefined();
  });
});
