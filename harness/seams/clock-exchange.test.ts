import { describe, expect, it } from 'vitest';
import {
  type ClockReading,
  clientHostClock,
  clockNote,
  readClockOffset,
} from './clock-exchange.ts';

/**
 * A simulated exchange on a fake harness clock: the request takes `out[i]` ms to reach a host
 * whose clock reads `offsetMs` ahead, the reply `back[i]` ms to return.
 */
function simulated(offsetMs: number, out: readonly number[], back: readonly number[]) {
  let now = 1_000;
  let round = 0;
  const clock = () => now;
  const ask = async () => {
    const i = round++ % out.length;
    now += out[i]!;
    const theirs = now + offsetMs;
    now += back[i]!;
    return theirs;
  };
  return { clock, ask, rounds: () => round };
}

describe('reading a client host’s clock', () => {
  it('keeps the exchange with the shortest round trip, and the true offset lies within its bound', async () => {
    // Asymmetric delays: the midpoint is off by half their difference, never more than half the trip.
    const { clock, ask } = simulated(250, [3, 0.2, 0.05, 1], [1, 0.1, 0.01, 2]);
    const reading = await readClockOffset(
      ask,
      { minRounds: 4, maxRounds: 4, budgetMs: 1e9 },
      clock,
    );
    expect(reading.roundTripMs).toBeCloseTo(0.06, 9);
    expect(reading.errorBoundMs).toBeCloseTo(0.03, 9);
    expect(reading.offsetMs).toBeCloseTo(250 + (0.05 - 0.01) / 2, 9);
    expect(Math.abs(reading.offsetMs - 250)).toBeLessThanOrEqual(reading.errorBoundMs);
  });

  it('takes more exchanges within its budget, and no fewer than its minimum past it', async () => {
    const fast = simulated(0, [0.5], [0.5]);
    await readClockOffset(fast.ask, { minRounds: 8, maxRounds: 64, budgetMs: 200 }, fast.clock);
    expect(fast.rounds()).toBe(64);
    // 50 ms round trips: the budget is spent after 4, the minimum still holds.
    const slow = simulated(0, [25], [25]);
    await readClockOffset(slow.ask, { minRounds: 8, maxRounds: 64, budgetMs: 200 }, slow.clock);
    expect(slow.rounds()).toBe(8);
  });

  it('flags a drift only beyond what the two readings’ bounds explain', () => {
    const start: ClockReading = { offsetMs: 100, roundTripMs: 0.2, errorBoundMs: 0.1 };
    const within = clientHostClock('vm-x', start, { ...start, offsetMs: 100.15 });
    expect(within).toMatchObject({ driftMs: expect.closeTo(0.15, 9), drifted: false });
    expect(clockNote(within)).not.toMatch(/WARNING/);
    const beyond = clientHostClock('vm-x', start, { ...start, offsetMs: 99.75 });
    expect(beyond).toMatchObject({ driftMs: expect.closeTo(-0.25, 9), drifted: true });
    expect(clockNote(beyond)).toMatch(/WARNING: its clock drifted -0\.250 ms .* ± 0\.200 ms/);
    const unread = clientHostClock('vm-x', start, null);
    expect(unread).toMatchObject({ endOffsetMs: null, driftMs: null, drifted: false });
    expect(clockNote(unread)).toMatch(/drift is unknown/);
  });
});
