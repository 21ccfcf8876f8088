import fc from 'fast-check';

/**
 * Topic names and filters for the fuzzers: mostly well-formed (so frames get past the codec and
 * reach the broker's and discovery's logic), drawn from an alphabet with the characters that
 * trip parsers: multi-byte UTF-8, `$`, spaces, a zero-width space.
 */

const levelUnit = fc.constantFrom('a', 'b', 'z', '0', '-', '_', ' ', 'é', '€', '😀', '$', '\u200b');
const level = fc.string({ unit: levelUnit, minLength: 0, maxLength: 8 });

/** A valid MQTT topic name: no wildcards, at least one character. */
export const topicNames = fc
  .array(level, { minLength: 1, maxLength: 6 })
  .map((levels) => levels.join('/'))
  .map((topic) => (topic.length === 0 ? 'fuzz' : topic));

/** A valid MQTT topic filter: `+` for whole levels, `#` only last. */
export const topicFilters = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 6 }), fc.boolean())
  .map(([levels, multi]) => [...levels, ...(multi ? ['#'] : [])].join('/'))
  .map((filter) => (filter.length === 0 ? '#' : filter));

/** Strings that are not valid topics or filters, or barely are. */
export const oddTopics = fc.oneof(
  fc.constantFrom('', '#/a', 'a/#/b', 'a+/b', '+a', 'a\u0000b', '\ud800', '/', '//', '#', '+'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.nat({ max: 70_000 }).map((length) => 'x'.repeat(length)),
);
