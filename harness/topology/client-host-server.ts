import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  type ClientFactory,
  decodeReport,
  type MessageListener,
  type PublisherConnection,
  type SubscriberConnection,
  type SubscriberOptions,
} from '../seams/client-factory.ts';
import {
  type HostReply,
  type HostRequest,
  hostReplySchema,
  parseFrame,
} from '../seams/client-host-protocol.ts';
import { type ClockReading, readClockOffset } from '../seams/clock-exchange.ts';
import { TestbedError } from '../testbed-error.ts';

const CONNECT_TIMEOUT_MS = 60_000;

/** A request before it is given its id (distributed over the union, so each op keeps its fields). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = WithoutId<HostRequest>;
/** A successful reply: a value (the clock) or a publish report (a schedule's end). */
type Answer = Extract<HostReply, { ok: true }>;

/**
 * One client host as the harness drives it: a ClientFactory whose connections live on the host.
 * [design] Publishers' schedules run on the host, so no harness round trip sits between a
 * scheduled time and its publish; only the results (arrivals, stamped on the host) travel back.
 */
export class RemoteClientHost implements ClientFactory {
  readonly name: string;
  /** How far the host's clock ran ahead of the harness's, and the round trip it was read over. */
  clockOffsetMs = 0;
  clockRoundTripMs = 0;
  /** The offset's error bound: the true offset lies within clockOffsetMs ± this. */
  clockErrorBoundMs = 0;

  get clock(): ClockReading {
    return {
      offsetMs: this.clockOffsetMs,
      roundTripMs: this.clockRoundTripMs,
      errorBoundMs: this.clockErrorBoundMs,
    };
  }
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve(reply: Answer): void; reject(e: Error): void }>();
  readonly #listeners = new Map<string, MessageListener>();
  readonly #status = new Map<string, (connected: boolean) => void>();
  /** Arrivals of subscribers that have no listener yet (see SubscriberConnection.onMessage). */
  readonly #early = new Map<string, [Buffer, number, boolean][]>();
  #nextId = 1;
  #nextKey = 1;

  constructor(name: string, socket: WebSocket) {
    this.name = name;
    this.#socket = socket;
    socket.on('message', (data) => this.#receive(data.toString()));
    socket.on('close', () => {
      for (const { reject } of this.#pending.values()) {
        reject(new TestbedError('CLIENT_HOST_FAILED', `client host ${name} hung up`));
      }
      this.#pending.clear();
    });
  }

  #receive(text: string): void {
    let reply: HostReply;
    try {
      reply = parseFrame(hostReplySchema, text);
    } catch {
      return; // A client host of this very run; a frame it garbled is not worth a run.
    }
    if ('arrivals' in reply) {
      for (const [key, arrivalMs, payload, dup] of reply.arrivals) {
        const bytes = Buffer.from(payload, 'base64');
        this.#early.get(key)?.push([bytes, arrivalMs, dup === 1]);
        this.#listeners.get(key)?.(bytes, arrivalMs, dup === 1);
      }
    } else if ('status' in reply) {
      this.#status.get(reply.status)?.(reply.connected);
    } else {
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) pending?.resolve(reply);
      else
        pending?.reject(
          new TestbedError(
            'CLIENT_HOST_FAILED',
            `${this.name}: ${reply.error.code}: ${reply.error.message}`,
          ),
        );
    }
  }

  request(request: Request): Promise<number | undefined> {
    return this.#ask(request).then((answer) => answer.value);
  }

  #ask(request: Request): Promise<Answer> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ ...request, id }));
    });
  }

  /** Measures the host's clock against this one and tells the host to correct for it. */
  async syncClock(): Promise<void> {
    const reading = await this.remeasureClock();
    this.clockOffsetMs = reading.offsetMs;
    this.clockRoundTripMs = reading.roundTripMs;
    this.clockErrorBoundMs = reading.errorBoundMs;
    await this.request({ op: 'set-clock', offsetMs: reading.offsetMs });
  }

  /**
   * Reads the host's raw clock against this one again, without correcting it: at a run's end,
   * its difference from `clock` is how far the two clocks drifted apart.
   */
  remeasureClock(): Promise<ClockReading> {
    return readClockOffset(async () => {
      const value = await this.request({ op: 'clock' });
      if (value === undefined) {
        throw new TestbedError('CLIENT_HOST_FAILED', `${this.name}: a clock reply without a time`);
      }
      return value;
    });
  }

  async subscriber(url: string, clientId: string, options: SubscriberOptions = {}) {
    const key = `s${this.#nextKey++}`;
    // Arrivals may come before the reply that says the subscriber is connected: kept for its listener.
    this.#early.set(key, []);
    const asked = this.#ask({
      op: 'subscriber',
      key,
      url,
      clientId,
      ...optional(options.reconnectMs),
      ...(options.persistent === undefined ? {} : { persistent: options.persistent }),
    });
    const { handshake } = await asked.catch((error: unknown) => {
      this.#early.delete(key);
      throw error;
    });
    let connected = true;
    let ended = false;
    let onChange: ((connected: boolean) => void) | undefined;
    this.#status.set(key, (up) => {
      connected = up;
      onChange?.(up);
    });
    const connection: SubscriberConnection = {
      get connected() {
        return connected && !ended;
      },
      handshake: handshake ?? {
        connectSentMs: Number.NaN,
        connackMs: Number.NaN,
        sessionPresent: false,
      },
      onMessage: (listener) => {
        const early = this.#early.get(key) ?? [];
        this.#early.delete(key);
        for (const [payload, arrivalMs, dup] of early) listener(payload, arrivalMs, dup);
        this.#listeners.set(key, (payload, arrivalMs, dup) => {
          if (!ended) listener(payload, arrivalMs, dup);
        });
      },
      onConnectionChange: (listener) => {
        onChange = listener;
      },
      subscribe: async (filters, qos) => {
        await this.request({ op: 'subscribe', key, filters: [...filters], qos });
      },
      end: async () => {
        ended = true;
        this.#listeners.delete(key);
        this.#early.delete(key);
        this.#status.delete(key);
        await this.request({ op: 'end', key }).catch(() => undefined);
      },
    };
    return connection;
  }

  async publisher(url: string, clientId: string, reconnectMs?: number) {
    const key = `p${this.#nextKey++}`;
    await this.request({ op: 'publisher', key, url, clientId, ...optional(reconnectMs) });
    const connection: PublisherConnection = {
      probe: (topics, payload) => {
        void this.request({
          op: 'probe',
          key,
          topics: [...topics],
          payload: payload.toString('base64'),
        }).catch(() => undefined);
      },
      run: async (schedule) => {
        const { report } = await this.#ask({
          op: 'run',
          key,
          schedule: { ...schedule, topics: [...schedule.topics] },
        });
        if (report === undefined) {
          // [design] A client host of an older build: its lateness is unknown, and is not
          // reported as zero.
          throw new TestbedError(
            'CLIENT_HOST_FAILED',
            `${this.name}: the client host sent no publish report`,
          );
        }
        return decodeReport(report);
      },
      ledger: async () => {
        const { ledger } = await this.#ask({ op: 'ledger', key });
        if (ledger === undefined) {
          throw new TestbedError(
            'CLIENT_HOST_FAILED',
            `${this.name}: the client host sent no publish ledger`,
          );
        }
        return ledger;
      },
      end: async () => {
        await this.request({ op: 'end', key }).catch(() => undefined);
      },
    };
    return connection;
  }

  close(): void {
    this.#socket.close();
  }
}

const optional = (reconnectMs: number | undefined) =>
  reconnectMs === undefined ? {} : { reconnectMs };

/** Where client hosts dial in, one path per host name, behind a per-run token. */
export interface ClientHostServer extends AsyncDisposable {
  /** The URL the client host named `name` connects to. */
  urlFor(name: string): string;
  /** The client host `name` once it has connected and its clock is synchronised. */
  connected(name: string): Promise<RemoteClientHost>;
  close(): Promise<void>;
}

export async function startClientHostServer(host: string): Promise<ClientHostServer> {
  const token = randomBytes(16).toString('hex');
  const server = new WebSocketServer({ host, port: 0 });
  await once(server, 'listening');
  const waiting = new Map<string, (host: RemoteClientHost) => void>();
  const arrived = new Map<string, RemoteClientHost>();
  server.on('connection', (socket, request) => {
    const [, given, name] = (request.url ?? '').split('/');
    if (given !== token || name === undefined || name === '' || arrived.has(name)) {
      socket.close(4403, 'unknown client host');
      return;
    }
    const remote = new RemoteClientHost(decodeURIComponent(name), socket);
    arrived.set(remote.name, remote);
    waiting.get(remote.name)?.(remote);
  });
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    for (const remote of arrived.values()) remote.close();
    for (const socket of server.clients) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  };
  return {
    urlFor: (name) => `ws://${host}:${port}/${token}/${encodeURIComponent(name)}`,
    async connected(name) {
      const remote =
        arrived.get(name) ??
        (await new Promise<RemoteClientHost>((resolve, reject) => {
          const timer = setTimeout(
            () =>
              reject(new TestbedError('CLIENT_HOST_FAILED', `client host ${name} never called`)),
            CONNECT_TIMEOUT_MS,
          );
          waiting.set(name, (found) => {
            clearTimeout(timer);
            resolve(found);
          });
        }));
      await remote.syncClock();
      return remote;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
