/**
 * `base` with `own`'s properties on top, for a part of a peer link that takes the broker-wide
 * link context plus a few things of its own. [design] The context is an object of some 25
 * fields shared by every link; spreading it (`{ ...base, ...own }`) gave each of a link's four
 * parts a copy of all of them, about 1 KiB a link, held for the life of the link. The returned
 * object holds only `own` and reads the rest from `base` through its prototype, so it also sees
 * `base` as it is, not as it was when the link was made.
 */
export function extendContext<Base extends object, Own extends object>(
  base: Base,
  own: Own,
): Base & Own {
  return Object.assign(Object.create(base) as Base, own);
}
