import { PEER_LINK_PATH } from '../../system/broker/index.ts';
import { MqfedError } from '../../system/protocol/index.ts';
import {
  type DelayProxy,
  type DelayProxyOptions,
  type ProxyTarget,
  startDelayProxy,
} from './delay-proxy.ts';
import {
  brokerHosts,
  type ImpairmentMethod,
  isImpaired,
  linkBetween,
  type NetworkSpec,
} from './network-spec.ts';

/**
 * Where the services of a topology listen right now. Functions, because a proxy is set up before
 * the broker behind it starts, and a restarted broker may listen on a new port.
 */
export interface ServiceUrls {
  /** The broker's MQTT URL (`mqtt://host:port`). */
  mqtt(broker: string): string;
  /** The federation's services; a system without them (Mosquitto) leaves these out. */
  auth?(): string;
  discovery?(): string;
  /** The broker's peer-link URL (`ws://host:port/peer`). */
  link?(broker: string): string;
}

/** The URLs one broker service must be started with to reach everything across its links. */
export interface BrokerRouting {
  authUrl: string;
  discoveryUrl: string;
  /** Peer id → the URL to dial it at; peers on unimpaired links are absent (dialed directly). */
  peerRoutes: Record<string, string>;
}

/** The `mqfed broker` flags that point a broker at everything across its links. */
export function routingArgs(routing: BrokerRouting): string[] {
  return [
    '--auth-url',
    routing.authUrl,
    '--discovery-url',
    routing.discoveryUrl,
    ...Object.entries(routing.peerRoutes).flatMap(([peer, url]) => [
      '--peer-route',
      `${peer}=${url}`,
    ]),
  ];
}

export interface EmulatedNetwork extends AsyncDisposable {
  /** `none` when no link is impaired (then no proxy runs at all). */
  readonly method: ImpairmentMethod;
  routing(broker: string): BrokerRouting;
  /** The MQTT URL a client on `fromHost` uses for `broker`; direct when no host is given. */
  mqttUrl(broker: string, fromHost?: string): string;
  /**
   * An address on `fromHost` that reaches `target` on `toHost` across their link: a new proxy,
   * closed with the network, or `target` itself when the link is unimpaired.
   */
  between(
    fromHost: string | undefined,
    toHost: string | undefined,
    target: ProxyTarget,
  ): Promise<ProxyTarget>;
  /**
   * Cuts every peer link to and from `broker` (with `cuttableLinks`; otherwise there is no relay
   * to cut, and it throws): the relays drop their connections and refuse new ones.
   */
  cutLinks(broker: string): void;
  restoreLinks(broker: string): void;
  close(): Promise<void>;
}

export interface EmulateNetworkOptions {
  /** Draws jitter and loss; seeded by a run so they replay. */
  random?: (() => number) | undefined;
  /**
   * Where the proxies listen: loopback when every service is a process of this machine; the
   * address containers reach this machine at when the services are containers.
   */
  proxyHost?: string;
  /**
   * Runs every peer link through a relay of its own, one per (dialing broker, peer), impaired
   * like the link between their hosts or not at all, so that `cutLinks` can cut one broker's
   * links. [design] Only for scenarios with link faults: the relay is one more TCP hop on every
   * cross-broker delivery, which other runs must not pay.
   */
  cuttableLinks?: boolean;
  /** The brokers' link servers speak TLS: routes through relays are then wss://. */
  tls?: boolean;
  /**
   * Starts one proxy of the network. Default: on this machine, at `proxyHost`. [design] A
   * topology whose hosts are machines of their own (swarm) starts the proxies of a link on the
   * host the link starts from, as a service there, and only those of the harness's own clients
   * here; `route` says which link and what for.
   */
  startProxy?: (route: ProxyRoute, options: DelayProxyOptions) => Promise<DelayProxy>;
}

/** Which link a proxy serves: from a host (the harness's own clients: none) to a service. */
export interface ProxyRoute {
  from: string | undefined;
  to: 'auth' | 'discovery' | 'link' | 'mqtt' | 'relay' | 'any';
}

/**
 * Builds the network of a scenario out of delay proxies, one per (source host, destination
 * service), each impaired like the link between the two hosts. [design] The kernel here has no
 * netem, so impairment is made at the application level: every connection that crosses hosts is
 * pointed at its proxy (brokers through their auth, discovery and peer-route URLs, clients
 * through the MQTT URL they are given), and whatever stays on one host goes direct.
 */
export async function emulateNetwork(
  network: NetworkSpec | undefined,
  brokers: readonly string[],
  urls: ServiceUrls,
  options: EmulateNetworkOptions = {},
): Promise<EmulatedNetwork> {
  const random = options.random ?? Math.random;
  const host = options.proxyHost ?? '127.0.0.1';
  const startProxy =
    options.startProxy ??
    ((_route: ProxyRoute, proxy: DelayProxyOptions) => startDelayProxy({ ...proxy, host }));
  const cuttable = options.cuttableLinks ?? false;
  const proxies = new Map<string, DelayProxy>();
  /** The cuttable relays, by `dialing>peer` broker names. */
  const relays = new Map<string, DelayProxy>();
  const close = async () => {
    await Promise.allSettled(
      [...proxies.values(), ...relays.values()].map((proxy) => proxy.close()),
    );
    proxies.clear();
    relays.clear();
  };
  const hostOf = network === undefined ? new Map<string, string>() : brokerHosts(network);
  /** Sets up the proxy from `from` to one service on `to`, if their link is impaired. */
  const route = async (
    key: string,
    from: string | undefined,
    to: string | undefined,
    url: (() => string) | undefined,
    service: ProxyRoute['to'],
  ) => {
    const link = network === undefined ? undefined : linkBetween(network, from, to);
    if (url === undefined || link === undefined || proxies.has(key)) return;
    const proxy = await startProxy(
      { from, to: service },
      { target: () => addressOf(url()), forward: link, random },
    );
    proxies.set(key, proxy);
  };
  /** The URL through the proxy for `key`, or `direct` when there is none. */
  const via = (key: string, direct: string) => {
    const proxy = proxies.get(key);
    return proxy === undefined ? direct : withAddress(direct, proxy);
  };

  try {
    if (cuttable && urls.link !== undefined) {
      const link = urls.link;
      for (const broker of brokers) {
        for (const peer of brokers) {
          if (peer === broker) continue;
          const impairment =
            network === undefined
              ? undefined
              : linkBetween(network, hostOf.get(broker), hostOf.get(peer));
          const relay = await startProxy(
            { from: hostOf.get(broker), to: 'relay' },
            { target: () => addressOf(link(peer)), forward: impairment ?? { delayMs: 0 }, random },
          );
          relays.set(`${broker}>${peer}`, relay);
        }
      }
    }
    if (isImpaired(network)) {
      const hosts = Object.keys(network?.hosts ?? {});
      for (const broker of brokers) {
        const from = hostOf.get(broker);
        await route(`${from}>auth`, from, network?.control, urls.auth, 'auth');
        await route(`${from}>discovery`, from, network?.control, urls.discovery, 'discovery');
        for (const peer of brokers) {
          // With cuttable links, the relays above carry the peer links (and their impairment).
          if (peer !== broker && !cuttable) {
            const link = urls.link;
            const url = link && (() => link(peer));
            await route(`${from}>link:${peer}`, from, hostOf.get(peer), url, 'link');
          }
        }
        for (const host of hosts) {
          await route(`${host}>mqtt:${broker}`, host, from, () => urls.mqtt(broker), 'mqtt');
        }
      }
    }
  } catch (error) {
    await close();
    throw error;
  }

  const cutting = (broker: string, cut: boolean) => {
    if (!cuttable) {
      throw new MqfedError(
        'INVALID_REQUEST',
        'the peer links of this network cannot be cut (it has no cuttableLinks)',
      );
    }
    for (const [key, relay] of relays) {
      const [dialing, peer] = key.split('>');
      if (dialing !== broker && peer !== broker) continue;
      if (cut) relay.cut();
      else relay.restore();
    }
  };

  return {
    get method(): ImpairmentMethod {
      // An unimpaired relay delays nothing: the links are impaired only if some proxy is.
      return proxies.size > 0 || (cuttable && isImpaired(network)) ? 'delay-proxy' : 'none';
    },
    routing(broker) {
      const from = hostOf.get(broker);
      const peerRoutes: Record<string, string> = {};
      for (const peer of brokers) {
        const key = `${from}>link:${peer}`;
        // Routes are handed out before the peer starts, so its URL is built from the proxy.
        const proxy = cuttable ? relays.get(`${broker}>${peer}`) : proxies.get(key);
        if (peer !== broker && proxy !== undefined) {
          // A relay forwards TCP, so TLS runs end to end through it: the broker's certificate
          // names the relay's loopback address too.
          const scheme = options.tls === true ? 'wss' : 'ws';
          peerRoutes[peer] = `${scheme}://${proxy.host}:${proxy.port}${PEER_LINK_PATH}`;
        }
      }
      return {
        authUrl: via(`${from}>auth`, urls.auth?.() ?? ''),
        discoveryUrl: via(`${from}>discovery`, urls.discovery?.() ?? ''),
        peerRoutes,
      };
    },
    mqttUrl(broker, fromHost) {
      const direct = urls.mqtt(broker);
      return fromHost === undefined ? direct : via(`${fromHost}>mqtt:${broker}`, direct);
    },
    async between(fromHost, toHost, target) {
      const link = network === undefined ? undefined : linkBetween(network, fromHost, toHost);
      if (link === undefined) return target;
      const proxy = await startProxy(
        { from: fromHost, to: 'any' },
        { target, forward: link, random },
      );
      proxies.set(`${fromHost}>${target.host}:${target.port}#${proxies.size}`, proxy);
      return { host: proxy.host, port: proxy.port };
    },
    cutLinks: (broker) => cutting(broker, true),
    restoreLinks: (broker) => cutting(broker, false),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function addressOf(url: string): ProxyTarget {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) };
}

/** `url` with its host and port replaced by the proxy's; path and query kept. */
function withAddress(url: string, { host, port }: ProxyTarget): string {
  const parsed = new URL(url);
  const path = parsed.pathname === '/' && !url.endsWith('/') ? '' : parsed.pathname;
  return `${parsed.protocol}//${host}:${port}${path}${parsed.search}`;
}
