import { nowMs } from './run-clock.ts';

/**
 * How far another host's clock is from the harness's, read over request/reply exchanges
 * (Cristian's method), and what two such readings of one run say about drift. [design] A unit of
 * its own, below topology/ (which reads client hosts' clocks) and the runner (which keeps the
 * readings in the results), with no I/O: the exchange is a function it is given.
 */

/** One reading of a host's clock against the harness's. */
export interface ClockReading {
  /** The host's raw clock minus the harness's, ms: what the host subtracts to read the run's clock. */
  offsetMs: number;
  /** The shortest round trip of the exchanges, ms: the one the offset was read over. */
  roundTripMs: number;
  /**
   * The true offset lies within `offsetMs ± errorBoundMs`: half the round trip. The host read its
   * clock somewhere between the harness's two stamps; the midpoint is at most half the round
   * trip from any instant of it, whatever the two directions' delays were.
   */
  errorBoundMs: number;
}

/** One client host's clock over one run, as results carry it (`clocks[]` of a repetition). */
export interface ClientHostClock {
  host: string;
  /** At the start: what the host was corrected by, with its bound and round trip. */
  offsetMs: number;
  errorBoundMs: number;
  roundTripMs: number;
  /** Read again at the end, before the host was released; null where that failed. */
  endOffsetMs: number | null;
  endErrorBoundMs: number | null;
  /** endOffsetMs − offsetMs: how far the clocks moved apart during the run. */
  driftMs: number | null;
  /** |driftMs| exceeds what the two readings' bounds explain: the clocks did move apart. */
  drifted: boolean;
  method: string;
}

/** The exchanges of one reading. */
export interface ClockExchangeOptions {
  /** At least this many exchanges, */
  minRounds: number;
  /** and more, up to this many, while the reading has taken less than `budgetMs`. */
  maxRounds: number;
  budgetMs: number;
}

/**
 * [design] Measured on a loaded 2-core machine (docs/results.md, `node bench/clock-bench.ts`):
 * with a client host process or container, the median bound falls from about 0.07 ms with 8
 * exchanges to about 0.04 ms with 64, which cost about 7 ms a reading; past that it gains
 * nothing. On a slow link (another machine) the budget stops it early: 8 exchanges over a 50 ms
 * round trip still take well under a second.
 */
export const CLOCK_EXCHANGES: ClockExchangeOptions = { minRounds: 8, maxRounds: 64, budgetMs: 200 };

export const CLOCK_METHOD = 'shortest-round-trip';

/**
 * Reads a host's clock: `ask` fetches the host's raw clock once. The exchange with the shortest
 * round trip sets the offset (the least queueing on the way), and its half round trip is the
 * bound. Throws what `ask` throws. (JSON and the frame schema admit finite numbers only.)
 */
export async function readClockOffset(
  ask: () => Promise<number>,
  options: ClockExchangeOptions = CLOCK_EXCHANGES,
  clock: () => number = nowMs,
): Promise<ClockReading> {
  let best: ClockReading = {
    offsetMs: 0,
    roundTripMs: Number.POSITIVE_INFINITY,
    errorBoundMs: Number.POSITIVE_INFINITY,
  };
  const began = clock();
  for (let round = 0; round < options.maxRounds; round++) {
    if (round >= options.minRounds && clock() - began > options.budgetMs) break;
    const sent = clock();
    const theirs = await ask();
    const back = clock();
    const roundTripMs = back - sent;
    if (roundTripMs < best.roundTripMs) {
      best = { offsetMs: theirs - (sent + back) / 2, roundTripMs, errorBoundMs: roundTripMs / 2 };
    }
  }
  return best;
}

/**
 * A client host's clock over a run, from its readings at the start and the end. The true drift
 * lies within `driftMs ± (errorBoundMs + endErrorBoundMs)`, so only a drift beyond that sum is
 * one the readings prove.
 */
export function clientHostClock(
  host: string,
  start: ClockReading,
  end: ClockReading | null,
): ClientHostClock {
  const driftMs = end === null ? null : end.offsetMs - start.offsetMs;
  return {
    host,
    offsetMs: start.offsetMs,
    errorBoundMs: start.errorBoundMs,
    roundTripMs: start.roundTripMs,
    endOffsetMs: end?.offsetMs ?? null,
    endErrorBoundMs: end?.errorBoundMs ?? null,
    driftMs,
    drifted:
      end !== null && driftMs !== null && Math.abs(driftMs) > start.errorBoundMs + end.errorBoundMs,
    method: CLOCK_METHOD,
  };
}

const ms = (value: number) => `${value.toFixed(3)} ms`;

/** The run's note about one client host's clock: how it was corrected, and whether it drifted. */
export function clockNote(clock: ClientHostClock): string {
  const start =
    `clients of ${clock.host} ran on a client host of their own; its clock was ` +
    `${ms(clock.offsetMs)} ± ${ms(clock.errorBoundMs)} off the harness's (read over a ` +
    `${ms(clock.roundTripMs)} round trip) and corrected`;
  if (clock.driftMs === null || clock.endErrorBoundMs === null) {
    return `${start}; it could not be read again at the end, so its drift is unknown`;
  }
  if (!clock.drifted) {
    return `${start}; at the end it was ${ms(clock.endOffsetMs!)} ± ${ms(clock.endErrorBoundMs)} off (no drift beyond the bounds)`;
  }
  return (
    `${start}; WARNING: its clock drifted ${ms(clock.driftMs)} against the harness's during the ` +
    `run, more than the ± ${ms(clock.errorBoundMs + clock.endErrorBoundMs)} the two readings ` +
    `explain: delays between its clients and other hosts' may be off by up to ${ms(Math.abs(clock.driftMs))}`
  );
}
