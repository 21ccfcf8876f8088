/**
 * The testbed's own failures: the machinery that starts topologies and drives clients, never the
 * wire. [design] They carry stable codes as the system's errors do (tests assert codes, the CLI
 * prints `mqfed: CODE: message` for any error with a string `code`), but they live apart from
 * the wire protocol's catalogue (system/protocol/errors.ts): they have no HTTP status and no
 * WebSocket close code, because no service ever sends them. A scenario or option that does not
 * validate keeps the protocol's INVALID_REQUEST: it is bad input checked with the same schema
 * library. docs/results.md lists the codes.
 */
export const testbedErrorCatalogue = {
  CONTAINER_ENGINE_UNAVAILABLE: 'No Docker engine answers, or it refused to start a container.',
  SERVICE_START_FAILED:
    'A service of the topology (an mqfed process, a Mosquitto broker) did not start or printed no address.',
  SERVICE_NOT_RUNNING: 'The topology has no service of that name, or it is stopped.',
  SWARM_UNAVAILABLE:
    'The Docker engine is not a Swarm manager, or the swarm has no node that can run the service.',
  IMAGE_MISSING_ON_NODE: 'A Swarm node that must run a service does not have the image.',
  UNSUPPORTED_BY_TOPOLOGY:
    'The topology cannot do this here (a fault on another node, TLS or cuttable links on swarm).',
  CLIENT_HOST_FAILED: 'A client host hung up, never called, or reported a failure.',
  PUBLISHER_THREAD_FAILED: 'The publisher worker thread failed, exited or stopped answering.',
  MOSQUITTO_NOT_FOUND:
    'No Mosquitto broker to compare with: none at MQFED_MOSQUITTO, on PATH or in the usual folders, or the one named is not Mosquitto.',
  TOO_MANY_CLIENTS:
    'More simulated clients would run in the harness process than it may open sockets for (ulimit -n).',
} as const satisfies Record<string, string>;

export type TestbedErrorCode = keyof typeof testbedErrorCatalogue;

export function isTestbedErrorCode(value: unknown): value is TestbedErrorCode {
  return typeof value === 'string' && Object.hasOwn(testbedErrorCatalogue, value);
}

export class TestbedError extends Error {
  readonly code: TestbedErrorCode;

  constructor(
    code: TestbedErrorCode,
    message: string = testbedErrorCatalogue[code],
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TestbedError';
    this.code = code;
  }
}
