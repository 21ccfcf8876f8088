import { once } from 'node:events';
import WebSocket from 'ws';
import { MqfedError } from '../../system/protocol/index.ts';
import {
  type HostReply,
  type HostRequest,
  hostRequestSchema,
  parseFrame,
} from '../seams/client-host-protocol.ts';
import { rawClockMs, setClockOffsetMs, setClockSkewMs } from '../seams/run-clock.ts';
import { localClients, type SubscriberConnection } from './client-connection.ts';
import { type LocalPublisher, publisherThread } from './publisher-thread.ts';

/** How often received messages go back to the harness, batched. */
const FLUSH_MS = 5;

/** The testing aid's variable: a client host's clock made to read this many ms off (±, decimal). */
export const CLOCK_SKEW_VARIABLE = 'MQFED_CLOCK_SKEW_MS';

export interface ClientHostOptions {
  /**
   * A testing aid: this host's clock reads so many ms ahead of the machine's (behind, if
   * negative), as a host on another machine with an unsynchronised clock would. Default: the
   * `MQFED_CLOCK_SKEW_MS` variable, else 0. See `setClockSkewMs`.
   */
  clockSkewMs?: number;
}

/** `MQFED_CLOCK_SKEW_MS` as a number; a value that is not one is refused, not read as 0. */
export function clockSkewFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[CLOCK_SKEW_VARIABLE];
  if (text === undefined || text === '') return 0;
  const skew = Number(text);
  if (!Number.isFinite(skew)) {
    throw new MqfedError('INVALID_REQUEST', `${CLOCK_SKEW_VARIABLE} must be a number of ms`);
  }
  return skew;
}

/**
 * A client host: the simulated clients of one host of a scenario, in a process (a container) of
 * their own, driven by the harness over one WebSocket (client-host-protocol.ts). It makes the
 * MQTT connections the harness asks for, runs publishers' schedules here, and sends back what
 * the subscribers received, each arrival stamped here on the run's clock. Resolves when the
 * harness hangs up; every connection is ended then.
 */
export async function runClientHost(
  harnessUrl: string,
  onReady?: () => void,
  options: ClientHostOptions = {},
): Promise<void> {
  const skewMs = options.clockSkewMs ?? clockSkewFromEnv();
  // [design] Only a skew that is asked for touches the clock: a client host in the harness's
  // own process (tests) shares the harness's clock, which must stay as it is.
  if (skewMs !== 0) setClockSkewMs(skewMs);
  const socket = new WebSocket(harnessUrl);
  const publishers = new Map<string, LocalPublisher>();
  const subscribers = new Map<string, SubscriberConnection>();
  let arrivals: ([string, number, string] | [string, number, string, 1])[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const send = (frame: HostReply) => socket.send(JSON.stringify(frame));
  const flush = () => {
    flushTimer = undefined;
    if (arrivals.length === 0) return;
    send({ arrivals });
    arrivals = [];
  };

  /** What a successful reply carries besides its id. */
  type Answer = Omit<Extract<HostReply, { ok: true }>, 'id' | 'ok'> | undefined;
  const handle = async (request: HostRequest): Promise<Answer> => {
    const connection = <T>(map: Map<string, T>, key: string) => {
      const found = map.get(key);
      if (found === undefined) throw new MqfedError('SERVICE_NOT_FOUND', `no client ${key}`);
      return found;
    };
    switch (request.op) {
      case 'clock':
        return { value: rawClockMs() };
      case 'set-clock':
        setClockOffsetMs(request.offsetMs);
        return undefined;
      case 'publisher':
        publishers.set(
          request.key,
          await publisherThread.publisher(request.url, request.clientId, request.reconnectMs),
        );
        return undefined;
      case 'subscriber': {
        const subscriber = await localClients.subscriber(request.url, request.clientId, {
          ...(request.reconnectMs === undefined ? {} : { reconnectMs: request.reconnectMs }),
          ...(request.persistent === undefined ? {} : { persistent: request.persistent }),
        });
        subscriber.onMessage((payload, arrivalMs, dup) => {
          const encoded = payload.toString('base64');
          arrivals.push(
            dup ? [request.key, arrivalMs, encoded, 1] : [request.key, arrivalMs, encoded],
          );
          flushTimer ??= setTimeout(flush, FLUSH_MS);
        });
        subscriber.onConnectionChange((connected) => send({ status: request.key, connected }));
        subscribers.set(request.key, subscriber);
        return { handshake: subscriber.handshake };
      }
      case 'probe':
        connection(publishers, request.key).probe(
          request.topics,
          Buffer.from(request.payload, 'base64'),
        );
        return undefined;
      case 'run': {
        // Passed on as the worker encoded it (LocalPublisher says why).
        return { report: await connection(publishers, request.key).runEncoded(request.schedule) };
      }
      case 'ledger':
        return { ledger: await connection(publishers, request.key).ledger() };
      case 'subscribe':
        await connection(subscribers, request.key).subscribe(request.filters, request.qos);
        return undefined;
      case 'end': {
        const found = publishers.get(request.key) ?? subscribers.get(request.key);
        publishers.delete(request.key);
        subscribers.delete(request.key);
        await found?.end();
        return undefined;
      }
    }
  };

  socket.on('message', (data) => {
    let request: HostRequest;
    try {
      request = parseFrame(hostRequestSchema, data.toString());
    } catch (error) {
      // A frame we cannot read has no id to answer; say so on stderr and carry on.
      const code = error instanceof MqfedError ? error.code : 'INTERNAL';
      process.stderr.write(`client-host: ${code}: ${(error as Error).message}\n`);
      return;
    }
    handle(request).then(
      (answer) => send({ id: request.id, ok: true, ...answer }),
      (error: Error) =>
        send({
          id: request.id,
          ok: false,
          error: {
            code: error instanceof MqfedError ? error.code : 'INTERNAL',
            message: error.message,
          },
        }),
    );
  });
  // Listening before the socket opens: the harness speaks first, maybe in the same packet.
  const closed = once(socket, 'close');
  const opened = await Promise.race([
    once(socket, 'open').then(() => true),
    closed.then(() => false),
  ]);
  if (opened) onReady?.();
  await closed;
  clearTimeout(flushTimer);
  await Promise.allSettled(
    [...publishers.values(), ...subscribers.values()].map((client) => client.end()),
  );
}
