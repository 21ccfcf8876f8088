import { Counter, Histogram, type Registry } from 'prom-client';
import { liveGauge } from '../common/index.ts';
import type { RevocationWatch } from './revocation-watch.ts';

/**
 * The revocation feed as a service using it sees it, on that service's registry: whether the
 * feed is up, how old the list may be, and how long each revocation took to reach the service.
 */
export function registerRevocationMetrics(registry: Registry, watch: RevocationWatch): void {
  liveGauge(
    registry,
    'mqfed_revocation_feed_connected',
    'Whether the revocation feed of the auth service is connected (1) or not (0)',
    () => (watch.connected ? 1 : 0),
  );
  liveGauge(
    registry,
    'mqfed_revocation_list_age_seconds',
    'Seconds since the revocation feed last showed it was alive; -1 before it ever connected',
    () => {
      const stale = watch.staleMs();
      return Number.isFinite(stale) ? stale / 1000 : -1;
    },
  );
  liveGauge(
    registry,
    'mqfed_revocation_entries',
    'Revocation entries held (unexpired revoked subjects and tokens)',
    () => watch.size,
  );
  const applied = new Counter({
    name: 'mqfed_revocations_applied_total',
    help: 'Revocations acted on (links and watches of the revoked tokens closed), by kind (subject, token)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const delay = new Histogram({
    name: 'mqfed_revocation_propagation_seconds',
    help: 'From the revocation being made at the auth service to this service acting on it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  watch.onApplied((entry, delayMs) => {
    applied.inc({ kind: entry.kind });
    delay.observe(delayMs / 1000);
  });
}

/** The auth service's side: the list it keeps and the subscribers of its feed. */
export function registerRevocationFeedMetrics(
  registry: Registry,
  sources: { entries: () => number; sockets: () => number },
): void {
  liveGauge(
    registry,
    'mqfed_auth_revocation_entries',
    'Entries on the revocation list (unexpired revoked subjects and tokens)',
    sources.entries,
  );
  liveGauge(
    registry,
    'mqfed_auth_revocation_feed_sockets',
    'Open revocation feed WebSockets',
    sources.sockets,
  );
}
