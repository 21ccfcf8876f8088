import { describe, expect, it } from 'vitest';
import { systemClock } from '../common/index.ts';
import { manualClock } from './discovery.fixtures.ts';
import { createLeaseTable } from './lease-table.ts';

function tableWithManualClock() {
  const clock = manualClock(1_000_000);
  const expired: string[] = [];
  const table = createLeaseTable({ clock, onExpire: (id) => expired.push(id) });
  return { clock, expired, table };
}

describe('the lease table', () => {
  it('expires a lease on its own timer, promptly after its lifetime', async () => {
    const started = Date.now();
    const expiredAt = await new Promise<number>((resolve) => {
      const table = createLeaseTable({ clock: systemClock, onExpire: () => resolve(Date.now()) });
      table.grant('b1', 50);
    });
    expect(expiredAt - started).toBeGreaterThanOrEqual(49);
    // Loose: on a loaded 2-core machine a 50 ms timer has fired 150 ms late.
    expect(expiredAt - started).toBeLessThan(1_000);
  });

  it('a renewal extends the lease by its lifetime from now', () => {
    const { clock, expired, table } = tableWithManualClock();
    table.grant('b1', 1_000);
    clock.advance(600);
    expect(table.renew('b1')).toEqual({ ttlMs: 1_000, expiresAt: clock.now() + 1_000 });
    clock.advance(600);
    table.expireDue();
    expect(expired).toEqual([]);
    clock.advance(400);
    table.expireDue();
    expect(expired).toEqual(['b1']);
    table.close();
  });

  it('a lease the clock says is over is gone, even before its timer fired', () => {
    const { clock, expired, table } = tableWithManualClock();
    table.grant('b1', 1_000);
    clock.advance(1_000);
    expect(table.get('b1')).toBeUndefined();
    expect(table.renew('b1')).toBeUndefined();
    expect(expired).toEqual(['b1']);
    expect(table.size).toBe(0);
  });

  it('granting again restarts the lease with the new lifetime', () => {
    const { clock, table } = tableWithManualClock();
    table.grant('b1', 1_000);
    clock.advance(900);
    expect(table.grant('b1', 5_000).expiresAt).toBe(clock.now() + 5_000);
    expect(table.renew('b1')?.ttlMs).toBe(5_000);
    table.close();
  });

  it('a revoked lease ends without being reported as expired', () => {
    const { clock, expired, table } = tableWithManualClock();
    table.grant('b1', 1_000);
    expect(table.revoke('b1')).toBe(true);
    expect(table.revoke('b1')).toBe(false);
    clock.advance(2_000);
    table.expireDue();
    expect(expired).toEqual([]);
  });

  it('expires each due lease exactly once and keeps the others', () => {
    const { clock, expired, table } = tableWithManualClock();
    table.grant('short', 100);
    table.grant('long', 10_000);
    clock.advance(100);
    table.expireDue();
    table.expireDue();
    expect(expired).toEqual(['short']);
    expect(table.get('long')?.expiresAt).toBe(clock.now() + 9_900);
    table.close();
  });
});
