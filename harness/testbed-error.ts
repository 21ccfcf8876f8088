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
  CLIENT_HOST_FAILED: 'A client host hung up, never called, or reported a failure.',
  PUBLISHER_THREAD_FAILED: 'The publisher worker thread failed, exited or stopped answering.',
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
