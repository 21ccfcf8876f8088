import { describe, expect, it } from 'vitest';
import { nowMs } from './payload.ts';
import { PreciseScheduler, type ScheduledTask } from './precise-scheduler.ts';

/** A task that fires once, and tells when. */
function once(name: string, fired: { name: string; dueMs: number; atMs: number }[], dueMs: number) {
  const task: ScheduledTask = {
    fire(timeMs) {
      fired.push({ name, dueMs, atMs: timeMs });
      return undefined;
    },
  };
  return task;
}

describe('the precise scheduler', () => {
  it('fires tasks in the order they are due, never before their time', async () => {
    const scheduler = new PreciseScheduler();
    const fired: { name: string; dueMs: number; atMs: number }[] = [];
    const startMs = nowMs();
    for (const [name, offsetMs] of [
      ['c', 9],
      ['a', 3],
      ['b', 6],
    ] as const) {
      scheduler.add(once(name, fired, startMs + offsetMs), startMs + offsetMs);
    }
    await expect.poll(() => fired.length).toBe(3);
    expect(fired.map(({ name }) => name)).toEqual(['a', 'b', 'c']);
    for (const { dueMs, atMs } of fired) expect(atMs).toBeGreaterThanOrEqual(dueMs);
  });

  it('fires a task again at the time it asks for, until it is removed', async () => {
    const scheduler = new PreciseScheduler();
    const times: number[] = [];
    const task: ScheduledTask = {
      fire(timeMs) {
        times.push(timeMs);
        return timeMs + 2;
      },
    };
    scheduler.add(task, nowMs() + 1);
    await expect.poll(() => times.length).toBeGreaterThanOrEqual(3);
    scheduler.remove(task);
    const count = times.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(times.length).toBe(count);
  });

  it('refuses a spin window that does not fit below its timer guard', () => {
    expect(() => new PreciseScheduler({ maxSpinMs: 3, timerGuardMs: 2 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    expect(() => new PreciseScheduler({ maxSpinShare: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });
});
