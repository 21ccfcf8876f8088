/**
 * Matches advertised entries (topic names or filters) against one fixed set of watched filters,
 * with the meaning of `filtersIntersect` from protocol/topic-filter.ts: does the entry share at
 * least one topic name with at least one of the filters?
 *
 * [design] The filters are kept in a level trie, and an entry is read level by level against the
 * set of trie nodes its prefix can reach, a lazily built automaton: each (node set, level) step
 * is computed once and cached, so an entry costs O(its levels) lookups once the steps it needs
 * exist, whatever the number of filters. The old scan cost filters × entries calls of
 * `filtersIntersect`, and a few kilobytes of watch request could then hold the event loop for
 * seconds (bench/matching-bench.ts). Steps are built only when an entry needs them; once the
 * cached node sets hold `maxCachedNodes` nodes in all, further steps are computed and not kept:
 * the memory of a matcher stays bounded, the answer stays exact, and a step then costs at most
 * the size of the trie (filters × levels).
 */
export interface FilterMatcher {
  /** Does `entry` share at least one topic name with one of the filters? */
  matches(entry: string): boolean;
  /** The entries that match, sorted. */
  matching(entries: Iterable<string>): string[];
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** A filter ends here. */
  end: boolean;
  /** Filters end at or below this node. */
  below: number;
}

/** A set of trie nodes an entry's prefix reaches, with its cached steps to the next level. */
interface State {
  readonly nodes: readonly TrieNode[];
  /** Some node has a `#` child: every entry with a further level matches. */
  readonly hashChild: boolean;
  /** Entry ends here: does it match? */
  readonly matchesAtEnd: boolean;
  /** The entry's next level is `#`: does it match? */
  readonly matchesHashLevel: boolean;
  /** Literal children of the nodes; other literal levels share the `+`-only step. */
  readonly literals: ReadonlySet<string>;
  readonly steps: Map<string, State | null>;
}

/** Where a node set sits, for the rules that look at the first level (MQTT §4.7.2). */
interface Place {
  depth: number;
  /** The entry's first level was the empty string: `/#` then meets no one-level filter. */
  emptyFirst: boolean;
}

// Step keys that no level can be: topic names and filters never hold U+0000.
const PLUS_STEP = '\u0000+';
const OTHER_STEP = '\u0000literal';
const SYSTEM_STEP = '\u0000$literal';

const isSystem = (level: string) => level.startsWith('$');

export function createFilterMatcher(
  filters: Iterable<string>,
  options: { maxCachedNodes?: number } = {},
): FilterMatcher {
  // [design] 64 Ki node references (half a megabyte) per matcher, so per watch.
  const maxCachedNodes = options.maxCachedNodes ?? 65_536;
  const root: TrieNode = { children: new Map(), end: false, below: 0 };
  for (const filter of new Set(filters)) {
    let node = root;
    node.below++;
    for (const level of filter.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = { children: new Map(), end: false, below: 0 };
        node.children.set(level, child);
      }
      child.below++;
      node = child;
    }
    node.end = true;
  }
  let cachedNodes = 0;
  const emptyRootChild = root.children.get('');

  const makeState = (nodes: TrieNode[], place: Place): State | null => {
    if (nodes.length === 0) return null;
    let hashChild = false;
    let matchesAtEnd = false;
    let matchesHashLevel = false;
    const literals = new Set<string>();
    for (const node of nodes) {
      for (const level of node.children.keys()) {
        if (level === '#') {
          hashChild = true;
          // The filter `/#` meets a one-level entry only in '', which is no topic name.
          if (!(place.depth === 1 && node === emptyRootChild)) matchesAtEnd = true;
        } else if (level !== '+') {
          literals.add(level);
        }
      }
      // Any filter longer than the prefix meets an entry whose next level is `#`.
      if (node.children.size > 0) matchesHashLevel = true;
      if (node.end) {
        matchesAtEnd = true;
        // The entry `/#` meets the one-level filter `+` only in '', which is no topic name.
        if (!(place.depth === 1 && place.emptyFirst)) matchesHashLevel = true;
      }
    }
    return {
      nodes,
      hashChild,
      matchesAtEnd,
      matchesHashLevel,
      literals,
      steps: new Map(),
    };
  };
  const rootState = makeState([root], { depth: 0, emptyFirst: false });

  /** The node set after reading `level` (a literal or `+`; `#` is decided without a step). */
  const advance = (state: State, level: string, place: Place): State | null => {
    // Levels no filter names share one step: at the first level, one for '$' names (which no
    // wildcard meets) and one for '' (after which `/#` is special), so that a topic space of many
    // first levels does not fill the cache with copies of one step.
    const first = place.depth === 0;
    const key =
      level === '+'
        ? PLUS_STEP
        : state.literals.has(level) || (first && level === '')
          ? level
          : first && isSystem(level)
            ? SYSTEM_STEP
            : OTHER_STEP;
    if (state.steps.has(key)) return state.steps.get(key) ?? null;
    const next: TrieNode[] = [];
    for (const node of state.nodes) {
      if (level === '+') {
        for (const [childLevel, child] of node.children) {
          if (childLevel === '#') continue;
          // A wildcard first level never meets a filter pinned to a '$' first level.
          if (first && childLevel !== '+' && isSystem(childLevel)) continue;
          next.push(child);
        }
        continue;
      }
      const exact = node.children.get(level);
      if (exact !== undefined) next.push(exact);
      const plus = node.children.get('+');
      if (plus !== undefined && !(first && isSystem(level))) next.push(plus);
    }
    const nextPlace: Place = {
      depth: place.depth + 1,
      emptyFirst: first ? level === '' : place.emptyFirst,
    };
    const made = makeState(next, nextPlace);
    const size = (made?.nodes.length ?? 0) + (made?.literals.size ?? 0) + 1;
    if (cachedNodes + size <= maxCachedNodes) {
      cachedNodes += size;
      state.steps.set(key, made);
    }
    return made;
  };

  const matches = (entry: string): boolean => {
    let state = rootState;
    if (state === null) return false;
    const levels = entry.split('/');
    const place: Place = { depth: 0, emptyFirst: false };
    for (const level of levels) {
      const first = place.depth === 0;
      if (level === '#') {
        if (!first) return state.matchesHashLevel;
        // An entry `#` meets every filter but those pinned to a '$' first level.
        for (const child of root.children.keys()) if (!isSystem(child)) return true;
        return false;
      }
      // A filter ending in `#` below the prefix meets every longer entry; a `#` first level
      // only when the entry does not start with a '$' name.
      if (state.hashChild && !(first && isSystem(level))) return true;
      const next = advance(state, level, place);
      if (next === null) return false;
      if (first) place.emptyFirst = level === '';
      place.depth++;
      state = next;
    }
    return state.matchesAtEnd;
  };

  return {
    matches,
    matching(entries) {
      if (root.below === 0) return [];
      const matched: string[] = [];
      for (const entry of entries) if (matches(entry)) matched.push(entry);
      return matched.sort();
    },
  };
}
