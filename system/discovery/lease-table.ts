import type { Clock } from '../common/index.ts';

export interface Lease {
  readonly ttlMs: number;
  /** Epoch milliseconds, read from the injected clock. */
  readonly expiresAt: number;
}

export interface LeaseTableOptions {
  clock: Clock;
  /** Called once for each lease that ran out, right when its timer sees it. */
  onExpire: (id: string) => void;
}

export interface LeaseTable {
  /** Starts a lease, or restarts it with a new lifetime if the id holds one. */
  grant(id: string, ttlMs: number): Lease;
  /** Extends a live lease by its lifetime; undefined when there is no live lease. */
  renew(id: string): Lease | undefined;
  /** Ends a lease without calling onExpire; false when there was none. */
  revoke(id: string): boolean;
  get(id: string): Lease | undefined;
  /** Expires every lease the clock says is over, even if its timer has not fired yet. */
  expireDue(): void;
  readonly size: number;
  /** Stops every timer; the table holds no more leases. */
  close(): void;
}

interface Entry {
  lease: Lease;
  timer: NodeJS.Timeout;
}

// setTimeout cannot wait longer than this; a longer wait re-arms when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Leases with one timer each, armed for the lease's own expiry. [design] Watchers must learn of a
 * broker leaving within 200 ms, so a periodic sweep would have to run every few milliseconds; a
 * timer per lease fires exactly when needed, and renewing is a clearTimeout and a setTimeout.
 *
 * The injected clock is the authority: a timer that fires while the clock says the lease still
 * runs (a clock that differs from the timers' own) re-arms for the remainder instead of expiring.
 */
export function createLeaseTable(options: LeaseTableOptions): LeaseTable {
  const { clock, onExpire } = options;
  const entries = new Map<string, Entry>();

  const expire = (id: string) => {
    const entry = entries.get(id);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    entries.delete(id);
    onExpire(id);
  };
  const arm = (id: string, expiresAt: number): NodeJS.Timeout => {
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - clock.now()));
    // Timers never keep the process alive; the HTTP server does that for a running service.
    return setTimeout(() => check(id), delay).unref();
  };
  const check = (id: string) => {
    const entry = entries.get(id);
    if (entry === undefined) return;
    if (clock.now() >= entry.lease.expiresAt) expire(id);
    else entry.timer = arm(id, entry.lease.expiresAt);
  };
  const start = (id: string, ttlMs: number): Lease => {
    const previous = entries.get(id);
    if (previous !== undefined) clearTimeout(previous.timer);
    const lease = Object.freeze({ ttlMs, expiresAt: clock.now() + ttlMs });
    entries.set(id, { lease, timer: arm(id, lease.expiresAt) });
    return lease;
  };
  const live = (id: string): Entry | undefined => {
    const entry = entries.get(id);
    if (entry !== undefined && clock.now() >= entry.lease.expiresAt) {
      expire(id);
      return undefined;
    }
    return entry;
  };

  return {
    grant: start,
    renew(id) {
      const entry = live(id);
      return entry === undefined ? undefined : start(id, entry.lease.ttlMs);
    },
    revoke(id) {
      const entry = entries.get(id);
      if (entry === undefined) return false;
      clearTimeout(entry.timer);
      entries.delete(id);
      return true;
    },
    get: (id) => live(id)?.lease,
    expireDue() {
      const now = clock.now();
      for (const [id, entry] of [...entries]) if (now >= entry.lease.expiresAt) expire(id);
    },
    get size() {
      return entries.size;
    },
    close() {
      for (const entry of entries.values()) clearTimeout(entry.timer);
      entries.clear();
    },
  };
}
