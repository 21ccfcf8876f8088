import {
  type DelayProxy,
  type DelayProxyOptions,
  type ProxyTarget,
  startDelayProxy,
} from '../network/delay-proxy.ts';
import type { ProxyRoute } from '../network/emulated-network.ts';
import type { LinkProxySpec } from '../network/link-proxies.ts';
import { TestbedError } from '../testbed-error.ts';

/** Where a host's link-proxies service listens: one port per proxy, counting up from here. */
const FIRST_PROXY_PORT = 20_000;

export interface SwarmProxyPlanOptions {
  /** Whether the links from `host` start inside the swarm (a service runs there). */
  inSwarm(route: ProxyRoute): boolean;
  /** The name other services reach the link-proxies service of `host` at. */
  aliasOf(host: string): string;
  /** Where the harness reaches a service the swarm's network knows as `target`. */
  fromHarness(target: ProxyTarget): ProxyTarget;
  random: () => number;
}

export interface SwarmProxyPlan {
  /** For emulateNetwork's `startProxy`. */
  startProxy(route: ProxyRoute, options: DelayProxyOptions): Promise<DelayProxy>;
  /** The proxies each host's link-proxies service must run, by host. */
  readonly byHost: ReadonlyMap<string, readonly LinkProxySpec[]>;
}

/**
 * The delay proxies of a swarm run, each on the host its link starts from. [design] A link from a
 * host inside the swarm (a broker's, the control host's, a client host's) becomes a port of that
 * host's `link-proxies` service, which the topology starts after planning; it forwards to a
 * service by its name on the run's network. A link from the harness's own clients is a proxy in
 * the harness, as in the other kinds, forwarding to where the harness reaches the service.
 * Planning is synchronous with emulateNetwork's routing: every route is known once it returns.
 */
export function planSwarmProxies(options: SwarmProxyPlanOptions): SwarmProxyPlan {
  const byHost = new Map<string, LinkProxySpec[]>();
  return {
    byHost,
    async startProxy(route, proxy) {
      const target = () =>
        typeof proxy.target === 'function' ? proxy.target() : (proxy.target as ProxyTarget);
      if (route.from === undefined || !options.inSwarm(route)) {
        return startDelayProxy({
          ...proxy,
          target: () => options.fromHarness(target()),
          host: '127.0.0.1',
        });
      }
      const specs = byHost.get(route.from) ?? [];
      byHost.set(route.from, specs);
      const spec: LinkProxySpec = {
        port: FIRST_PROXY_PORT + specs.length,
        target: target(),
        forward: { jitterMs: 0, loss: 0, ...proxy.forward },
        ...(proxy.backward === undefined
          ? {}
          : { backward: { jitterMs: 0, loss: 0, ...proxy.backward } }),
        seed: Math.floor(options.random() * 2 ** 31),
      };
      specs.push(spec);
      return remoteProxy(options.aliasOf(route.from), spec.port);
    },
  };
}

/** A proxy that runs in a host's service: reached at its alias; this process cannot cut it. */
function remoteProxy(host: string, port: number): DelayProxy {
  const refuse = () => {
    throw new TestbedError(
      'UNSUPPORTED_BY_TOPOLOGY',
      'the links of a swarm run cannot be cut: disconnect the broker instead',
    );
  };
  const close = async () => undefined;
  return { host, port, cut: refuse, restore: refuse, close, [Symbol.asyncDispose]: close };
}
