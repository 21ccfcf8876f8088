/**
 * MQTT 3.1.1 topic names and topic filters (spec §4.7): validation, matching, intersection and
 * coverage. Pure functions on strings, shared by discovery (which brokers have data for F?) and
 * the broker services (which peers to link, which filters to send). [design]
 *
 * Rules followed:
 * - levels are separated by '/', and empty levels are legal ('a//b', '/a', 'a/');
 * - '+' matches exactly one level, which may be empty; it must fill its whole level;
 * - '#' matches the parent level and any number of child levels; it must be last and alone;
 * - a filter whose first level is a wildcard does not match topics starting with '$' (§4.7.2);
 * - names and filters are 1..65535 UTF-8 bytes and never contain U+0000.
 */

const MAX_UTF8_BYTES = 65_535;

function hasValidLength(text: string): boolean {
  return text.length > 0 && Buffer.byteLength(text, 'utf8') <= MAX_UTF8_BYTES;
}

/** A topic name a client may publish to: no wildcards. */
export function isValidTopicName(topic: string): boolean {
  return (
    hasValidLength(topic) &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\u0000')
  );
}

/** A topic filter a client may subscribe to. */
export function isValidTopicFilter(filter: string): boolean {
  if (!hasValidLength(filter) || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, index) => {
    if (level === '#') return index === levels.length - 1;
    if (level === '+') return true;
    return !level.includes('+') && !level.includes('#');
  });
}

function isWildcard(level: string | undefined): boolean {
  return level === '+' || level === '#';
}

function isSystemLevel(level: string | undefined): boolean {
  return level?.startsWith('$') === true;
}

/** Does `filter` match the topic name `topic`? Both are assumed valid. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (isWildcard(f[0]) && isSystemLevel(t[0])) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Is there a topic name that both filters match? Used to decide whether a broker's advertised
 * topic space can serve a subscription, with wildcards on both sides.
 */
export function filtersIntersect(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  // The '$' rule: a filter starting with a wildcard can only meet topics that do not start with
  // '$'. If the other filter pins its first level to a '$' name, they never meet.
  if (isWildcard(x[0]) && isSystemLevel(y[0]) && !isWildcard(y[0])) return false;
  if (isWildcard(y[0]) && isSystemLevel(x[0]) && !isWildcard(x[0])) return false;
  const shared = Math.min(x.length, y.length);
  for (let i = 0; i < shared; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') return true;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
  if (x.length === y.length) return true;
  // One filter is longer: the shorter one has run out of levels, so only a trailing '#' on the
  // longer one (which also matches its parent level) can still meet it.
  // The witness is then the shorter filter's levels, which is no topic at all when it would be
  // the empty string ('/#' meets '+' only in '', an invalid name).
  const longer = x.length > y.length ? x : y;
  const witnessIsEmpty = shared === 1 && longer[0] === '';
  return longer.length === shared + 1 && longer[shared] === '#' && !witnessIsEmpty;
}

/**
 * Does `broad` match every topic that `narrow` matches? Lets a broker skip sending a filter to a
 * peer when a broader one it already sent covers it.
 */
export function filterCovers(broad: string, narrow: string): boolean {
  const b = broad.split('/');
  const n = narrow.split('/');
  // A broad filter that starts with a wildcard misses '$' topics, so it cannot cover a narrow
  // filter pinned to a '$' first level.
  if (isWildcard(b[0]) && isSystemLevel(n[0]) && !isWildcard(n[0])) return false;
  for (let i = 0; i < b.length; i++) {
    const level = b[i];
    if (level === '#') return true;
    if (i >= n.length) return false;
    const other = n[i];
    // The narrow '#' also matches its parent topic, which a broad level cannot cover, unless that
    // parent is '' and so no topic at all ('#' and '/#'): then '+/#' and '/+/#' cover it.
    if (other === '#') {
      const parentIsEmpty = n.slice(0, i).join('/') === '';
      return parentIsEmpty && level === '+' && b[i + 1] === '#';
    }
    if (level !== '+' && (other === '+' || level !== other)) return false;
  }
  return b.length === n.length;
}
