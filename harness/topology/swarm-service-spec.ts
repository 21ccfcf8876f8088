import type { ServiceSpec } from './swarm-engine.ts';

const SECOND_NS = 1_000_000_000;

/** One service of a swarm run: an `mqfed` command on the run's network, one task. */
export interface SwarmServiceRequest {
  /** The swarm-wide service name (carries the run's id). */
  name: string;
  /** Its name on the run's network, which the other services dial. */
  alias: string;
  image: string;
  /** The `mqfed` arguments (the image's entrypoint is `node bin/mqfed.js`). */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  networkId: string;
  constraints: readonly string[];
  /** Docker secrets, each mounted as /run/secrets/<file>, readable by the service's user only. */
  secrets?: readonly { id: string; name: string; file: string }[];
  /** Target port → port published on the task's node, for the harness to reach. */
  published?: ReadonlyMap<number, number>;
  /**
   * False for a command with nothing to probe (link proxies, client hosts: the image's check
   * reports them healthy anyway), so that no probe process runs beside a measurement.
   */
  healthCheck?: boolean;
  /** A volume of the task's node (made on first use), mounted at `target`. */
  volume?: { name: string; target: string };
}

/**
 * The engine's spec for one service. [design] Choices that matter for a measuring run:
 * - `dnsrr` endpoints: a service's name resolves to its task's own address, so no virtual IP and
 *   no IPVS translation sits on the measured path (the routing mesh is not used at all);
 * - ports published in host mode on the task's node, at ports the harness chose, so a broker
 *   that is stopped and started again is found at the same address;
 * - restart on failure only, with a short delay: a service that exits because a dependency was
 *   not up yet comes back; a fault (scale to 0) is not undone by the swarm;
 * - the image's health check, polled every two seconds instead of five: a task counts as
 *   running only once healthy, so waiting for "running" is waiting for readiness. [design] Not
 *   every second: each probe starts a Node process, and a dozen services probing every second
 *   took a fifth of a core beside the measurement on a two-core machine.
 */
export function swarmServiceSpec(request: SwarmServiceRequest): ServiceSpec {
  const uid = '1000';
  return {
    Name: request.name,
    Labels: { ...request.labels },
    TaskTemplate: {
      ContainerSpec: {
        Image: request.image,
        Args: [...request.args],
        Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
        Labels: { ...request.labels },
        Secrets: (request.secrets ?? []).map((secret) => ({
          SecretID: secret.id,
          SecretName: secret.name,
          File: { Name: secret.file, UID: uid, GID: uid, Mode: 0o400 },
        })),
        HealthCheck:
          request.healthCheck === false
            ? { Test: ['NONE'] }
            : {
                Test: ['CMD', 'node', 'docker/healthcheck.js'],
                Interval: 2 * SECOND_NS,
                Timeout: 5 * SECOND_NS,
                Retries: 5,
                StartPeriod: 60 * SECOND_NS,
              },
        StopGracePeriod: 10 * SECOND_NS,
        Mounts:
          request.volume === undefined
            ? []
            : [
                {
                  Type: 'volume',
                  Source: request.volume.name,
                  Target: request.volume.target,
                  VolumeOptions: {
                    NoCopy: false,
                    Labels: { ...request.labels },
                    DriverConfig: { Name: 'local', Options: {} },
                  },
                },
              ],
      },
      Placement: { Constraints: [...request.constraints] },
      RestartPolicy: { Condition: 'on-failure', Delay: SECOND_NS, MaxAttempts: 10 },
      Networks: [{ Target: request.networkId, Aliases: [request.alias] }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: [...(request.published ?? new Map())].map(([target, published]) => ({
        Protocol: 'tcp',
        TargetPort: target,
        PublishedPort: published,
        PublishMode: 'host',
      })),
    },
  };
}
