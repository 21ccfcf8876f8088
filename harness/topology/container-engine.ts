/**
 * The container engine as the containers topology uses it: testcontainers, loaded on first use,
 * and the run's private network.
 */
import { TestbedError } from '../testbed-error.ts';

type Testcontainers = typeof import('testcontainers');
interface Endpoint {
  network: string;
  alias: string;
  ip: string;
}

/**
 * testcontainers and what this topology builds on it, loaded on first use: every `mqfed`
 * command (each service of the processes topology too) would pay for loading it otherwise.
 */
export const containerKit = (() => {
  let kit: Promise<ReturnType<typeof buildKit>> | undefined;
  return () => {
    // [design] testcontainers' reaper container cannot be pulled on a machine without a
    // registry. This topology removes what it starts itself: on close, on Ctrl-C
    // (interrupt-cleanup.ts), and, after a harness that died hard, on the next start
    // (container-ownership.ts). Read when the first container starts: set before.
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    kit ??= import('testcontainers').then(buildKit);
    return kit;
  };
})();

function buildKit(tc: Testcontainers) {
  /**
   * A container that joins the run's network at a fixed address, with its alias, from the
   * moment it is created. [design] A restarted broker comes back at its old address, as a
   * rebooted host would, so clients that reconnect on their own (fault scenarios) find it;
   * testcontainers has no option for an address, so this uses its hook for the last word on
   * the create options.
   */
  class PinnedContainer extends tc.GenericContainer {
    readonly #endpoint: Endpoint;

    constructor(image: string, endpoint: Endpoint) {
      super(image);
      this.#endpoint = endpoint;
      this.withNetworkMode(endpoint.network);
    }

    protected override async beforeContainerCreated(): Promise<void> {
      const { network, alias, ip } = this.#endpoint;
      this.createOpts.NetworkingConfig = {
        EndpointsConfig: { [network]: { Aliases: [alias], IPAMConfig: { IPv4Address: ip } } },
      };
    }
  }
  return { ...tc, PinnedContainer };
}

/** Whether a container engine answers (within `timeoutMs`): the containers topology can run. */
export async function containerEngineAnswers(timeoutMs = 10_000): Promise<boolean> {
  const { getContainerRuntimeClient } = await containerKit();
  const answer = getContainerRuntimeClient().then(
    () => true,
    () => false,
  );
  const late = new Promise<boolean>((resolve) =>
    setTimeout(() => resolve(false), timeoutMs).unref(),
  );
  return Promise.race([answer, late]);
}

type Dockerode = import('testcontainers').ContainerRuntimeClient['container']['dockerode'];

/**
 * The run's network, on a /24 of its own so that every service can have a fixed address. The
 * subnet is drawn from 10.128.0.0/10 (rarely used by hosts and by Docker's own pools) and drawn
 * again if the engine finds it taken.
 */
export async function createNetwork(
  docker: Dockerode,
  name: string,
  labels: Record<string, string>,
): Promise<{ network: ReturnType<Dockerode['getNetwork']>; prefix: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const prefix = `10.${128 + Math.floor(Math.random() * 64)}.${Math.floor(Math.random() * 256)}`;
    try {
      const network = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: labels,
        IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}.0/24`, Gateway: `${prefix}.1` }] },
      });
      return { network, prefix };
    } catch (error) {
      if (attempt >= 8 || !/overlap/i.test(String(error))) {
        throw new TestbedError(
          'CONTAINER_ENGINE_UNAVAILABLE',
          `cannot create network ${name}`,
          error,
        );
      }
    }
  }
}
