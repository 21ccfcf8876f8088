import { z } from 'zod';

const count = z.number().int().nonnegative();
const share = z.number().nonnegative();

/**
 * What one sampled service cost while the run was measured, and per 1,000 of the clients it
 * carried: the figures for sizing a crowd (docs/results.md, "Load per host").
 */
export const hostLoadRowSchema = z.object({
  service: z.string(),
  role: z.enum(['client-host', 'harness', 'broker']),
  /**
   * The clients it carried: a client host the simulated clients on it; a broker those the
   * scenario placed on it; the harness every client of the run (it drives and counts them all,
   * wherever they run), of which `clientsHere` ran in its own process.
   */
  clients: count,
  clientsHere: count.optional(),
  /** Samples (one a second) inside the measured windows. */
  samples: count,
  /** CPU, % of one core: mean and highest over those samples. */
  cpuPercent: share,
  cpuPercentMax: share,
  /** Resident memory: the highest sample of the whole run (connecting the crowd included). */
  rssBytes: count,
  /** cpuPercent and rssBytes divided by clients / 1,000; null without clients. */
  perThousandClients: z.object({ cpuPercent: share, rssBytes: count }).nullable(),
});

export const hostLoadSchema = z.object({
  /** The measured windows (warm-up to end of schedule, every variant and repetition), ms. */
  windowMs: z.number().nonnegative(),
  /** Every client of the run, in one variant. */
  clients: count,
  rows: z.array(hostLoadRowSchema),
});

export type HostLoad = z.infer<typeof hostLoadSchema>;
export type HostLoadRow = z.infer<typeof hostLoadRowSchema>;

/** The parts of a results document the load table is derived from. */
export interface HostLoadInput {
  startedAt: string;
  parameters: Record<string, unknown>;
  services: readonly {
    name: string;
    samples: readonly { tMs: number; cpuPercent: number; rssBytes: number }[];
  }[];
  variants: readonly { system: string; repetitions: readonly { startedAt: string }[] }[];
}

/** The client groups as `parameters` records them (the scenario, defaults filled in). */
const groupsSchema = z.object({
  clients: z.object({
    publishers: z.array(
      z.object({ count: count, host: z.string().optional(), broker: z.unknown() }),
    ),
    subscribers: z.array(
      z.object({ count: count, host: z.string().optional(), broker: z.unknown() }),
    ),
    mobile: z.array(z.object({ count: count, host: z.string().optional(), brokers: z.unknown() })),
  }),
  durationMs: z.number(),
  warmupMs: z.number(),
  variants: z.array(z.object({ placement: z.record(z.string(), z.unknown()).optional() })),
});

const CLIENT_HOST = /^client host (.+)$/;
const BROKER = /^broker (.+)$/;

/**
 * Derives the load table from a results document: each client host's, broker's and the
 * harness's CPU over the measured windows and peak memory, and both per 1,000 clients.
 * [design] A pure function of what the document already holds (service samples, parameters,
 * when each repetition began), so a report can derive it from an older document too. Brokers
 * get a row only where every variant is the federation on the scenario's own placement: a
 * baseline puts the clients elsewhere, and its samples would mix with theirs. Undefined when
 * the parameters are not a scenario's (a hand-made document).
 */
export function hostLoadOf(results: HostLoadInput): HostLoad | undefined {
  const parsed = groupsSchema.safeParse(results.parameters);
  if (!parsed.success) return undefined;
  const { clients: groups, durationMs, warmupMs } = parsed.data;
  const all = [...groups.publishers, ...groups.subscribers, ...groups.mobile];
  const total = all.reduce((sum, group) => sum + group.count, 0);
  const onHost = new Map<string, number>();
  for (const group of all) {
    if (group.host !== undefined)
      onHost.set(group.host, (onHost.get(group.host) ?? 0) + group.count);
  }
  const onBroker = new Map<string, number>();
  for (const group of [...groups.publishers, ...groups.subscribers]) {
    spread(group.broker, group.count, onBroker);
  }
  for (const group of groups.mobile) spread(group.brokers, group.count, onBroker);
  const declaredPlacement =
    results.variants.every((variant) => variant.system === 'mqfed') &&
    parsed.data.variants.every((variant) => Object.keys(variant.placement ?? {}).length === 0);

  // Sample times count from the run's start; each sample covers the second before it.
  const runStart = Date.parse(results.startedAt);
  const windows = results.variants.flatMap((variant) =>
    variant.repetitions.map((repetition) => {
      const began = Date.parse(repetition.startedAt) - runStart;
      return [began + warmupMs, began + durationMs] as const;
    }),
  );
  const inWindow = (tMs: number) => windows.some(([from, to]) => tMs - 1_000 >= from && tMs <= to);
  const hostsRunning = new Set(
    results.services.flatMap((service) => CLIENT_HOST.exec(service.name)?.[1] ?? []),
  );
  const clientsHere = all
    .filter((group) => group.host === undefined || !hostsRunning.has(group.host))
    .reduce((sum, group) => sum + group.count, 0);

  const rows: HostLoadRow[] = [];
  for (const service of results.services) {
    const host = CLIENT_HOST.exec(service.name)?.[1];
    const broker = BROKER.exec(service.name)?.[1];
    let row: Pick<HostLoadRow, 'role' | 'clients' | 'clientsHere'>;
    if (host !== undefined) row = { role: 'client-host', clients: onHost.get(host) ?? 0 };
    else if (broker !== undefined && declaredPlacement) {
      row = { role: 'broker', clients: onBroker.get(broker) ?? 0 };
    } else if (service.name.startsWith('harness') || service.name.startsWith('in-process')) {
      row = { role: 'harness', clients: total, clientsHere };
    } else continue;
    const measured = service.samples.filter((sample) => inWindow(sample.tMs));
    const cpu = measured.map((sample) => sample.cpuPercent);
    const cpuPercent = cpu.length === 0 ? 0 : round(cpu.reduce((a, b) => a + b, 0) / cpu.length);
    const rssBytes = Math.max(0, ...service.samples.map((sample) => sample.rssBytes));
    const thousands = row.clients / 1_000;
    rows.push({
      service: service.name,
      ...row,
      samples: measured.length,
      cpuPercent,
      cpuPercentMax: Math.max(0, ...cpu),
      rssBytes,
      perThousandClients:
        row.clients === 0
          ? null
          : {
              cpuPercent: round(cpuPercent / thousands),
              rssBytes: Math.round(rssBytes / thousands),
            },
    });
  }
  // The harness first, then brokers and client hosts, each by name: the samples' order is the
  // order services were first seen, which varies from run to run.
  const order = { harness: 0, broker: 1, 'client-host': 2 } as const;
  rows.sort(
    (x, y) =>
      order[x.role] - order[y.role] || (x.service < y.service ? -1 : x.service > y.service ? 1 : 0),
  );
  return {
    windowMs: windows.reduce((sum, [from, to]) => sum + (to - from), 0),
    clients: total,
    rows,
  };
}

/** Adds a group's clients to the brokers they start on, round-robin as the plan places them. */
function spread(placement: unknown, clients: number, into: Map<string, number>): void {
  const brokers =
    typeof placement === 'string'
      ? [placement]
      : Array.isArray(placement)
        ? placement.filter((b): b is string => typeof b === 'string')
        : [];
  if (brokers.length === 0) return;
  for (let i = 0; i < clients; i++) {
    const broker = brokers[i % brokers.length]!;
    into.set(broker, (into.get(broker) ?? 0) + 1);
  }
}

const round = (value: number) => Math.round(value * 100) / 100;
