import { Counter, type Registry } from 'prom-client';
import { liveGauge } from '../common/index.ts';

/** The limits of discovery, the only values of the `limit` label. */
export type DiscoveryLimit =
  | 'watch_sockets_per_subject'
  | 'watches_per_socket'
  | 'watches_per_subject'
  | 'filters_per_watch'
  | 'watch_filter_bytes'
  | 'watch_filter_levels'
  | 'topics_per_broker'
  | 'interest_per_broker'
  | 'sessions_per_broker'
  | 'sessions';

/** What a session claim did, the only values of the `outcome` label of the claims counter. */
export type SessionClaimOutcome = 'new' | 'moved' | 'kept' | 'refused';

export interface DiscoveryMetrics {
  readonly registrations: Counter<'outcome'>;
  readonly deregistrations: Counter;
  readonly leaseExpiries: Counter;
  readonly advertisements: Counter;
  readonly interestAdvertisements: Counter;
  /** Calls and upgrades refused for who the caller is or what it may do, by error code. */
  readonly denials: Counter<'code'>;
  readonly eventsPushed: Counter<'type'>;
  /** Watch sockets closed by the service, by error code (bad frames, expired tokens, ...). */
  readonly watchClosures: Counter<'code'>;
  /** Requests and watches refused by a limit, by limit. */
  readonly limitRefusals: Counter<'limit'>;
  /** Session claims (one each, and each id a restore claimed), by outcome. */
  readonly sessionClaims: Counter<'outcome'>;
}

export interface GaugeSources {
  liveBrokers: () => number;
  watchSockets: () => number;
  watches: () => number;
  sessions: () => number;
}

/** The gauges read the live state when scraped, so they can never drift from it. [design] */
export function createDiscoveryMetrics(registry: Registry, gauges: GaugeSources): DiscoveryMetrics {
  const gauge = (name: string, help: string, read: () => number) =>
    liveGauge(registry, name, help, read);
  gauge('mqfed_discovery_live_brokers', 'Brokers holding a live lease', gauges.liveBrokers);
  gauge('mqfed_discovery_watch_sockets', 'Open watch WebSockets', gauges.watchSockets);
  gauge('mqfed_discovery_watches', 'Active watches over all sockets', gauges.watches);
  gauge('mqfed_discovery_sessions', 'Entries of the session directory', gauges.sessions);
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registrations: counter(
      'mqfed_discovery_registrations_total',
      'Broker registrations, by outcome (new, replaced)',
      ['outcome'],
    ),
    deregistrations: counter('mqfed_discovery_deregistrations_total', 'Clean deregistrations'),
    leaseExpiries: counter('mqfed_discovery_lease_expiries_total', 'Leases that ran out'),
    advertisements: counter(
      'mqfed_discovery_advertisements_total',
      'Topic-space changes accepted from brokers',
    ),
    interestAdvertisements: counter(
      'mqfed_discovery_interest_advertisements_total',
      'Interest changes accepted from brokers',
    ),
    denials: counter(
      'mqfed_discovery_denials_total',
      'Requests and watch upgrades refused by authentication or authorization, by code',
      ['code'],
    ),
    eventsPushed: counter(
      'mqfed_discovery_watch_events_total',
      'Watch events pushed to watchers, by type',
      ['type'],
    ),
    watchClosures: counter(
      'mqfed_discovery_watch_closures_total',
      'Watch sockets closed by the service because of an error, by code',
      ['code'],
    ),
    limitRefusals: counter(
      'mqfed_discovery_limit_refusals_total',
      'Requests and watches refused by a limit (watches, filters, advertised entries), by limit',
      ['limit'],
    ),
    sessionClaims: counter(
      'mqfed_discovery_session_claims_total',
      'Session claims, by outcome (new, moved, kept, refused)',
      ['outcome'],
    ),
  };
}
