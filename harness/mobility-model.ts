/**
 * The mobility seam: what a mobility model is told and what it answers. [design] A file of its
 * own, so that scenario.ts (which accepts custom models) and mobility.ts (the built-in models,
 * built from a scenario's specs) both depend on it and not on each other.
 */

/** What a mobility model knows about one mobile client when it is asked where the client goes. */
export interface MobileClientInfo {
  /** `<group>-<index>`, as a trace names it. */
  readonly id: string;
  /** Index within its group, 0-based. */
  readonly index: number;
  /** How many clients the group has (to stagger moves). */
  readonly count: number;
  /** The broker it is on (or moving to) now. */
  readonly broker: string;
  /** The brokers its group may visit. */
  readonly brokers: readonly string[];
}

/**
 * A mobility model: where should this client be at `nowMs` (ms since the publish schedule began)?
 * A broker name moves the client there if it is elsewhere; `undefined` leaves it where it is.
 * `random` is seeded per client from the run's seed, so a custom model that uses it replays
 * exactly with the same `--seed`. [design] A model is a plain function, so a researcher adds one
 * in a few lines of a scenario file (`mobility: { kind: 'custom', name, model }`).
 */
export type MobilityModel = (
  client: MobileClientInfo,
  nowMs: number,
  random: () => number,
) => string | undefined;
