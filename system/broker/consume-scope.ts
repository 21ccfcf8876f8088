import { filterCovers } from '../protocol/index.ts';

/**
 * The filters worth subscribing on peers, given what local clients want and what this broker's
 * token lets it consume (its `sub` scope). A filter inside the scope is kept; a filter broader
 * than some scope entries is narrowed to those entries (a local `#` under the scope `sensors/#`
 * subscribes `sensors/#`); a filter that only partly overlaps the scope is left out, because no
 * single filter is exactly the overlap and the peer would deny the whole filter. [design]
 */
export function narrowToScope(filters: Iterable<string>, scope: readonly string[]): string[] {
  const narrowed = new Set<string>();
  for (const filter of filters) {
    if (scope.some((allowed) => filterCovers(allowed, filter))) {
      narrowed.add(filter);
      continue;
    }
    for (const allowed of scope) if (filterCovers(filter, allowed)) narrowed.add(allowed);
  }
  // A filter another one strictly covers would only make the peer match twice. Only a filter
  // with a wildcard can strictly cover another, so only those are compared: thousands of exact
  // filters stay linear.
  const all = [...narrowed];
  const wild = all.filter((filter) => filter.includes('+') || filter.includes('#'));
  return all
    .filter((filter) => !wild.some((other) => other !== filter && strictlyCovers(other, filter)))
    .sort();
}

function strictlyCovers(broad: string, narrow: string): boolean {
  return filterCovers(broad, narrow) && !filterCovers(narrow, broad);
}
