import { filterCovers } from '../protocol/index.ts';

/** What a broker advertises (its interest, or its topics), and how many entries that folded. */
export interface FoldedFilters {
  /** The filters to advertise, sorted: at most `cap` of them unless even the scope is larger. */
  filters: string[];
  /** Filters of the input that are not advertised as themselves (0: nothing folded). */
  folded: number;
}

/**
 * Fits what a broker advertises into one of discovery's caps per broker: its interest (within
 * its `sub` scope) or its topic space (topic names and declared filters, within its `pub`
 * scope). [design] Over-approximating either is safe: broader interest can only make a
 * publishing broker hold or forward more for this one (whose own clients' subscriptions still
 * decide what is delivered), broader topics only make peers link to this one in vain; neither
 * loses a message. So each filter is replaced by a covering one: its first `depth` levels and
 * `#` (`s/1/x`, `s/2/y` → `s/#`), cut down to the scope entry that allowed it (the meet of the
 * two, one filter), so the advertisement never leaves the scope and discovery takes it. The
 * deepest depth whose result fits wins; at depth 0 each filter becomes its scope entry. Within
 * the cap nothing changes.
 *
 * `filters` must be within `scope` (PeerLinks.narrowedInterest, TopicSpace's `scope`); one not
 * covered by any scope entry is kept as it is.
 */
export function foldFilters(
  filters: readonly string[],
  cap: number,
  scope: readonly string[],
): FoldedFilters {
  const unique = [...new Set(filters)];
  if (unique.length <= cap) return { filters: unique.sort(), folded: 0 };
  // Each scope entry split once, not once per filter and attempt.
  const scopeLevels = new Map(scope.map((allowed) => [allowed, allowed.split('/')]));
  const parsed = unique.map((filter) => {
    const allowedBy = scope.find((allowed) => filterCovers(allowed, filter));
    return {
      filter,
      levels: filter.split('/'),
      allowedLevels: allowedBy === undefined ? undefined : scopeLevels.get(allowedBy),
    };
  });
  let deepest = 0;
  for (const { levels } of parsed) deepest = Math.max(deepest, levels.length);
  const foldAt = (depth: number): Set<string> => {
    const result = new Set<string>();
    for (const { filter, levels, allowedLevels } of parsed) {
      result.add(
        allowedLevels === undefined ? filter : collapsed(filter, levels, depth, allowedLevels),
      );
    }
    withoutCovered(result);
    return result;
  };
  // A deeper cut keeps more levels, so (nearly always) more entries: the deepest depth that fits
  // is found by bisection, a few passes over the filters however deep they are.
  let result = foldAt(0);
  let fits = 0;
  let tooDeep = deepest;
  while (tooDeep - fits > 1) {
    const depth = Math.floor((fits + tooDeep) / 2);
    const attempt = foldAt(depth);
    if (attempt.size <= cap) {
      result = attempt;
      fits = depth;
    } else {
      tooDeep = depth;
    }
  }
  const sorted = [...result].sort();
  let folded = 0;
  for (const filter of unique) if (!result.has(filter)) folded += 1;
  return { filters: sorted, folded };
}

/** `filter`'s first `depth` levels and `#`, met with the scope entry whose levels are `allowed`. */
function collapsed(filter: string, levels: string[], depth: number, allowed: string[]): string {
  if (levels.length <= depth) return filter;
  const prefix = levels.slice(0, depth);
  prefix.push('#');
  return meet(prefix, allowed);
}

/**
 * The one filter matching exactly the topics both filters match, for two filters that both cover
 * some filter (so they agree on every literal level they share): level by level the narrower
 * one, and past a `#` the other's remaining levels.
 */
function meet(a: string[], b: string[]): string {
  const out: string[] = [];
  for (let i = 0; ; i += 1) {
    const x = a[i];
    const y = b[i];
    if (x === '#') return [...out, ...b.slice(i)].join('/');
    if (y === '#') return [...out, ...a.slice(i)].join('/');
    if (x === undefined || y === undefined) return out.join('/');
    out.push(x === '+' ? y : x);
  }
}

/** Drops the entries another entry ending in `#` covers (`s/1/x` under `s/#`, `s` under `s/#`). */
function withoutCovered(entries: Set<string>): void {
  for (const entry of [...entries]) {
    // `#` also matches its parent level: `s` is in `s/#`.
    if (entries.has(`${entry}/#`)) {
      entries.delete(entry);
      continue;
    }
    // Each shorter prefix with `#`: `#`, then `s/#` for `s/1/x`, then `s/1/#`. Cut from the
    // string at each `/`, not split and joined: this runs for every entry of every attempt.
    let broad = '#';
    for (let at = entry.indexOf('/'); ; at = entry.indexOf('/', at + 1)) {
      if (broad !== entry && entries.has(broad) && filterCovers(broad, entry)) {
        entries.delete(entry);
        break;
      }
      if (at === -1) break;
      broad = `${entry.slice(0, at)}/#`;
    }
  }
}
