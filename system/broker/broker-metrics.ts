import { Counter, Gauge, type Registry } from 'prom-client';
import { liveGauge } from '../common/index.ts';
import { clientRefusalReasons } from './mqtt-client-refusals.ts';

/** Traffic of one peer, kept as plain numbers: the hot path must not hash metric labels. */
export interface LinkTraffic {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** Counts bumped once per message, kept as plain numbers for the same reason. */
export interface HotCounts {
  /** PUBLISH frames sent to peers (first sends). */
  forwarded: number;
  /** PUBLISH frames sent again after a reconnect (QoS 1, DUP set). */
  resent: number;
  /** PUBLISH frames from peers delivered to local clients. */
  delivered: number;
  duplicates: number;
  /** Messages an origin numbered that never arrived. */
  gaps: number;
}

export type LinkState = 'connecting' | 'open' | 'idle';

export interface BrokerGaugeSources {
  clients: () => number;
  subscriptions: () => number;
  linksByState: () => Record<LinkState, number>;
  /** Messages and bytes held in all outboxes: not yet written, or QoS 1 not yet acknowledged. */
  outbox: () => { messages: number; bytes: number };
  /** Retained messages local clients keep on this broker, and their bytes. */
  retained?: () => { messages: number; bytes: number };
}

export interface BrokerMetrics {
  /** Per-peer traffic; created on first use and kept across reconnects, so totals only grow. */
  trafficOf(peer: string): LinkTraffic;
  readonly hot: HotCounts;
  /** Peer subscriptions or forwards refused for scope or identity, by code. */
  readonly denials: Counter<'code'>;
  /** Publishes not forwarded: `payload_too_large` (over the peer's limit) or `backpressure`. */
  readonly dropped: Counter<'reason'>;
  /** Outbox entries dropped at its bound (`bytes`, `age`) or QoS 1 publishes `refused`. */
  readonly outboxDropped: Counter<'reason'>;
  /** TOKEN_REFRESH frames, `sent` or `received` (accepted). */
  readonly tokenRefreshes: Counter<'direction'>;
  readonly linksOpened: Counter<'direction'>;
  /** Links closed, by the catalogue code or close reason. */
  readonly linksClosed: Counter<'code'>;
  /** Link upgrades refused before a WebSocket existed, by code. */
  readonly upgradesRefused: Counter<'code'>;
  readonly advertisements: Counter<'outcome'>;
  /** MQTT client connects, publishes and subscriptions refused (or held: `rate`), by reason. */
  readonly clientRefusals: Counter<'reason'>;
  /** Interest filters advertised as a broader one to fit discovery's cap (filter-folding.ts). */
  readonly interestFolded: Gauge;
}

/** Most distinct `peer` label values; the traffic of any further peer is counted under `_other`. */
export const MAX_PEER_LABELS = 512;
/** Not a service id (those start with a letter or digit), so it cannot shadow a real peer. */
export const OTHER_PEERS_LABEL = '_other';

/** Gauges and per-peer counters read the live state when scraped, so they cannot drift. */
export function createBrokerMetrics(
  registry: Registry,
  sources: BrokerGaugeSources,
): BrokerMetrics {
  const traffic = new Map<string, LinkTraffic>();
  const gauge = (name: string, help: string, read: () => number) =>
    liveGauge(registry, name, help, read);
  gauge('mqfed_broker_clients', 'Connected local MQTT clients', sources.clients);
  gauge(
    'mqfed_broker_subscriptions',
    'Distinct topic filters local clients subscribe',
    sources.subscriptions,
  );
  new Gauge({
    name: 'mqfed_broker_links',
    help: 'Peer links by state (idle: open, and neither side subscribes anything)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(sources.linksByState()))
        this.set({ state }, count);
    },
  });
  const perPeer = (
    name: string,
    help: string,
    read: (t: LinkTraffic, inbound: boolean) => number,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['peer', 'direction'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [peer, t] of traffic) {
          this.inc({ peer, direction: 'in' }, read(t, true));
          this.inc({ peer, direction: 'out' }, read(t, false));
        }
      },
    });
  perPeer(
    'mqfed_broker_link_frames_total',
    'Peer-link frames, by peer and direction',
    (t, inbound) => (inbound ? t.framesIn : t.framesOut),
  );
  perPeer(
    'mqfed_broker_link_bytes_total',
    'Peer-link bytes, by peer and direction',
    (t, inbound) => (inbound ? t.bytesIn : t.bytesOut),
  );
  gauge(
    'mqfed_broker_outbox_messages',
    'Publishes held for peers (not yet written, or QoS 1 not yet acknowledged), all peers',
    () => sources.outbox().messages,
  );
  gauge(
    'mqfed_broker_outbox_bytes',
    'Bytes of the publishes held for peers, all peers',
    () => sources.outbox().bytes,
  );
  const hot: HotCounts = { forwarded: 0, resent: 0, delivered: 0, duplicates: 0, gaps: 0 };
  const hotCounter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  hotCounter('mqfed_broker_forwarded_total', 'Publishes sent to peers', () => hot.forwarded);
  hotCounter(
    'mqfed_broker_resent_total',
    'Publishes sent to a peer again after a reconnect',
    () => hot.resent,
  );
  hotCounter(
    'mqfed_broker_delivered_total',
    'Publishes from peers delivered locally',
    () => hot.delivered,
  );
  hotCounter(
    'mqfed_broker_duplicates_total',
    'Duplicate publishes from peers dropped',
    () => hot.duplicates,
  );
  hotCounter(
    'mqfed_broker_gaps_total',
    'Publishes peers numbered that never arrived',
    () => hot.gaps,
  );
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const { retained } = sources;
  if (retained !== undefined) {
    gauge(
      'mqfed_broker_retained_messages',
      "Retained messages kept here (local clients' and peers')",
      () => retained().messages,
    );
    gauge(
      'mqfed_broker_retained_bytes',
      'Bytes (topic and payload) of those retained messages',
      () => retained().bytes,
    );
  }
  const clientRefusals = counter(
    'mqfed_broker_client_refusals_total',
    'MQTT client connects, publishes and subscriptions refused (rate: held back), by reason',
    ['reason'],
  );
  // Every reason shows from the start, at 0, so a dashboard needs no absent-series rules.
  for (const reason of clientRefusalReasons) clientRefusals.inc({ reason }, 0);
  const interestFolded = new Gauge({
    name: 'mqfed_broker_interest_folded_filters',
    help: "Local interest filters advertised as a broader filter, to fit discovery's cap",
    registers: [registry],
  });
  return {
    hot,
    clientRefusals,
    interestFolded,
    trafficOf(peer) {
      // [design] Peers are registered brokers (their ids come from verified tokens), so the label
      // is bounded by the registrations; past MAX_PEER_LABELS it is bounded here regardless,
      // the further peers sharing one series.
      const label = traffic.has(peer) || traffic.size < MAX_PEER_LABELS ? peer : OTHER_PEERS_LABEL;
      let t = traffic.get(label);
      if (t === undefined) {
        t = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
        traffic.set(label, t);
      }
      return t;
    },
    denials: counter('mqfed_broker_denials_total', 'Peer requests refused, by code', ['code']),
    dropped: counter('mqfed_broker_dropped_total', 'Publishes not forwarded, by reason', [
      'reason',
    ]),
    outboxDropped: counter(
      'mqfed_broker_outbox_dropped_total',
      'Outbox entries dropped at the per-peer bound, by reason (bytes, age, refused)',
      ['reason'],
    ),
    tokenRefreshes: counter(
      'mqfed_broker_token_refreshes_total',
      'Token refreshes on peer links, sent or received',
      ['direction'],
    ),
    linksOpened: counter('mqfed_broker_links_opened_total', 'Peer links opened, by who dialed', [
      'direction',
    ]),
    linksClosed: counter('mqfed_broker_links_closed_total', 'Peer links closed, by code', ['code']),
    upgradesRefused: counter(
      'mqfed_broker_link_upgrades_refused_total',
      'Peer-link upgrades refused before a WebSocket existed, by code',
      ['code'],
    ),
    advertisements: counter(
      'mqfed_broker_advertisements_total',
      'Topic-space deltas sent to discovery, by outcome',
      ['outcome'],
    ),
  };
}
