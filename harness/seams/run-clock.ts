/**
 * The clock of a run, shared by every layer of the harness: publishers stamp scheduled times
 * with it, subscribers stamp arrivals, topologies read it to synchronise client hosts, faults
 * and moves are timed on it. [design] A unit of its own, below workload/ and topology/, so
 * neither has to import the other for the time.
 */

/**
 * The one clock of a run: wall-clock ms from the monotonic high-resolution timer. Publishers and
 * subscribers of a run share the harness process, so send and receive times come from one clock;
 * or they sit on client hosts (processes or containers, maybe on other machines) whose offset
 * from the harness the harness measured and corrects (`setClockOffsetMs`).
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now() + clockSkewMs - clockOffsetMs;
}

let clockOffsetMs = 0;
/** A testing aid's artificial error of this process's raw clock (`setClockSkewMs`); 0 in runs. */
let clockSkewMs = 0;

/**
 * How far this process's clock runs ahead of the harness's, as the harness measured it: a client
 * host (`mqfed client-host`, its own process) reads the run's clock through this correction, so
 * send and receive times of clients on different hosts stay on one clock.
 */
export function setClockOffsetMs(offsetMs: number): void {
  clockOffsetMs = offsetMs;
}

/** The raw clock, without the correction: what the harness compares its own with. */
export function rawClockMs(): number {
  return performance.timeOrigin + performance.now() + clockSkewMs;
}

/**
 * A testing aid: makes this process's raw clock read `skewMs` ahead of the machine's (behind, if
 * negative), as the clock of a host on another machine would. The harness cannot tell it from a
 * real offset: it measures it and corrects for it like one. Changing it while clients run makes
 * the clock jump, as a drifting or stepped clock would between two measurements. [design] Only
 * the thread that sets it is skewed; a publisher thread follows through the clock anchor it adopts
 * at each schedule's start (`adoptClockAnchorMs`).
 */
export function setClockSkewMs(skewMs: number): void {
  clockSkewMs = skewMs;
}

/** The monotonic kernel clock in ms: one clock for every thread of the process. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The raw clock minus the monotonic one, read within the tightest of a few brackets. */
function rawMinusMonotonicMs(): number {
  // The first read of a cold clock path can take tens of µs; the tightest bracket is exact to
  // a fraction of a µs.
  let bracket = Number.POSITIVE_INFINITY;
  let difference = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const before = rawClockMs();
    const monotonic = monotonicMs();
    const after = rawClockMs();
    if (after - before < bracket) {
      bracket = after - before;
      difference = (before + after) / 2 - monotonic;
    }
  }
  return difference;
}

/**
 * `nowMs()` minus the monotonic kernel clock: a constant of this thread. A worker thread that
 * adopts it (`adoptClockAnchorMs`) reads the very same `nowMs` as this thread.
 */
export function clockAnchorMs(): number {
  return rawMinusMonotonicMs() - clockOffsetMs;
}

/**
 * Makes `nowMs` in this thread read as in the thread whose `clockAnchorMs` this is.
 * [design] A worker's `performance.timeOrigin` is read from the wall clock when the worker
 * starts, so `timeOrigin + now()` of two threads agree only as long as nobody stepped the wall
 * clock in between (they agree to a µs or so on a quiet machine; the publisher thread's test
 * measures it). Every thread's `performance.now()` runs on the one monotonic clock, so anchoring
 * on that is exact whatever the wall clock did, and it carries a client host's correction
 * (`setClockOffsetMs`) along.
 */
export function adoptClockAnchorMs(anchorMs: number): void {
  clockOffsetMs = rawMinusMonotonicMs() - anchorMs;
}

/** A short description of `nowMs` for the results' environment. */
export const CLOCK_DESCRIPTION =
  'performance.timeOrigin + performance.now() in the harness process, where publishers (in a worker thread of that process, anchored to the same monotonic clock) and subscribers read the same clock; on client hosts (processes or containers, of this machine or another) their own clock, corrected by the offset the harness measured at start, with its error bound and its drift over the run kept per repetition (docs/results.md)';
