import { z } from 'zod';
import { seededRandom } from '../../system/common/index.ts';
import { type DelayProxy, startDelayProxy } from './delay-proxy.ts';
import { impairmentSchema } from './network-spec.ts';

/**
 * The delay proxies of one emulated host, run where that host is: `mqfed link-proxies` in a
 * service of a swarm run, placed on the host's node. [design] One process per host rather than
 * one per link: a scenario's links number in the tens (paper-3: about twenty), and a service each
 * would start as many containers on a two-core machine. Each proxy listens on a port of its own
 * and forwards to a service by its name on the run's network, which follows a restarted service.
 */
export const linkProxySpecSchema = z.strictObject({
  /** Where this proxy listens, on every address of its container. */
  port: z.number().int().min(1).max(65_535),
  /** The service it forwards to, by name on the run's network. */
  target: z.strictObject({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65_535),
  }),
  forward: impairmentSchema,
  backward: impairmentSchema.optional(),
  /** Seeds its jitter and loss, so that a run replays. */
  seed: z.number().int().nonnegative(),
});

/** At most this many proxies in one process: a host links to each service of a run once. */
export const MAX_LINK_PROXIES = 512;

export const linkProxiesSchema = z.array(linkProxySpecSchema).min(1).max(MAX_LINK_PROXIES);

export type LinkProxySpec = z.output<typeof linkProxySpecSchema>;

/** Parses the JSON a `link-proxies` service is given (its env MQFED_LINK_PROXIES). */
export function parseLinkProxies(json: string): LinkProxySpec[] {
  return linkProxiesSchema.parse(JSON.parse(json));
}

/** Starts every proxy of `specs`; closing the result closes them all. */
export async function runLinkProxies(
  specs: readonly LinkProxySpec[],
  listenHost = '0.0.0.0',
): Promise<{ readonly proxies: readonly DelayProxy[]; close(): Promise<void> }> {
  const proxies: DelayProxy[] = [];
  const close = async () => {
    await Promise.allSettled(proxies.map((proxy) => proxy.close()));
  };
  try {
    for (const spec of specs) {
      proxies.push(
        await startDelayProxy({
          target: spec.target,
          forward: spec.forward,
          ...(spec.backward === undefined ? {} : { backward: spec.backward }),
          random: seededRandom(spec.seed),
          host: listenHost,
          port: spec.port,
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { proxies, close };
}
