import { z } from 'zod';
import { serviceIdSchema } from '../../system/protocol/index.ts';

/**
 * The hosts of a scenario and the network between them. [design] A host is a name for a machine
 * of the experiment: broker hosts carry broker services, client hosts carry simulated clients
 * (which still run in the harness process, so publisher and subscriber share one clock). What
 * crosses from one host to another goes through an emulated link with the declared impairment;
 * what stays on one host does not. Links are symmetric: `between: [x, y]` is the same link both
 * ways, as in the paper's cloud of virtual machines.
 */

const hostName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_", "-"');

/** One direction of a link; the other direction gets the same. */
export const impairmentSchema = z.strictObject({
  /** One-way delay, ms. */
  delayMs: z.number().min(0).max(60_000),
  /** Extra one-way delay drawn uniformly from [0, jitterMs] per chunk, ms. */
  jitterMs: z.number().min(0).max(60_000).default(0),
  /** Share of chunks (0..1) that cost a TCP retransmission (TCP itself never loses bytes). */
  loss: z.number().min(0).max(1).default(0),
});

export const networkSchema = z.strictObject({
  /** Host → the brokers on it (none for a client host). Every broker is on exactly one host. */
  hosts: z.record(hostName, z.array(serviceIdSchema).default([])),
  /** The host of the auth and discovery services; unset, they are reached without impairment. */
  control: hostName.optional(),
  /** The link between two different hosts that `links` does not name. */
  defaultLink: impairmentSchema.default({ delayMs: 0, jitterMs: 0, loss: 0 }),
  links: z.array(impairmentSchema.extend({ between: z.tuple([hostName, hostName]) })).default([]),
});

export type Impairment = z.output<typeof impairmentSchema>;
export type NetworkSpec = z.output<typeof networkSchema>;
export type NetworkInput = z.input<typeof networkSchema>;

/** How the impairment of a run was made: not at all, by the delay proxy, or by netem. */
export type ImpairmentMethod = 'none' | 'delay-proxy' | 'netem';

/** The host each broker is on. */
export function brokerHosts(network: NetworkSpec): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const [host, brokers] of Object.entries(network.hosts)) {
    for (const broker of brokers) hosts.set(broker, host);
  }
  return hosts;
}

/** The impairment between two hosts, or undefined when there is none (same host, or all zero). */
export function linkBetween(
  network: NetworkSpec,
  from: string | undefined,
  to: string | undefined,
): Impairment | undefined {
  if (from === undefined || to === undefined || from === to) return undefined;
  const declared = network.links.find(
    ({ between: [x, y] }) => (x === from && y === to) || (x === to && y === from),
  );
  const { delayMs, jitterMs, loss } = declared ?? network.defaultLink;
  return delayMs === 0 && jitterMs === 0 && loss === 0 ? undefined : { delayMs, jitterMs, loss };
}

/** Whether any pair of distinct hosts has an impaired link. */
export function isImpaired(network: NetworkSpec | undefined): boolean {
  if (network === undefined) return false;
  const hosts = Object.keys(network.hosts);
  return hosts.some((from) => hosts.some((to) => linkBetween(network, from, to) !== undefined));
}

/**
 * Checks what the schema alone cannot: every broker on exactly one host, every named host
 * declared. Issues are reported through `addIssue` with a path below `at`.
 */
export function checkNetwork(
  network: NetworkSpec,
  brokers: readonly string[],
  addIssue: (path: (string | number)[], message: string) => void,
): void {
  const hosts = new Set(Object.keys(network.hosts));
  const placed = new Map<string, string>();
  for (const [host, onHost] of Object.entries(network.hosts)) {
    for (const [index, broker] of onHost.entries()) {
      if (!brokers.includes(broker)) {
        addIssue(
          ['hosts', host, index],
          `unknown broker "${broker}" (brokers: ${brokers.join(', ')})`,
        );
      } else if (placed.has(broker)) {
        addIssue(
          ['hosts', host, index],
          `broker "${broker}" is already on host "${placed.get(broker)}"`,
        );
      }
      placed.set(broker, host);
    }
  }
  for (const broker of brokers) {
    if (!placed.has(broker)) addIssue(['hosts'], `broker "${broker}" is on no host`);
  }
  if (network.control !== undefined && !hosts.has(network.control)) {
    addIssue(['control'], `no host "${network.control}"`);
  }
  for (const [index, link] of network.links.entries()) {
    for (const [end, host] of link.between.entries()) {
      if (!hosts.has(host)) addIssue(['links', index, 'between', end], `no host "${host}"`);
    }
  }
}
