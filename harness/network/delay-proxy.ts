import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { MqfedError } from '../../system/protocol/index.ts';

/** What the network between two hosts does to the bytes that cross it, in one direction. */
export interface LinkImpairment {
  /** One-way delay added to every chunk, ms. */
  delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs] per chunk, ms. */
  jitterMs?: number;
  /**
   * Share of chunks (0..1) that are "lost". TCP never loses bytes for the application; a lost
   * segment costs a retransmission instead, so a lost chunk here is held for `lossPenaltyMs`
   * more. [design]
   */
  loss?: number;
  /** What a lost chunk costs: about one TCP retransmission timeout. */
  lossPenaltyMs?: number;
}

export interface DelayProxyOptions {
  /**
   * Where connections are forwarded. A function is asked at each new connection, so a proxy can
   * listen before its target exists and follow a service that restarts on a new port; when it
   * throws, the connection is refused (closed at once), as a stopped service would be.
   */
  target: ProxyTarget | (() => ProxyTarget);
  /** Towards the target (client → server) and back (server → client). */
  forward: LinkImpairment;
  backward?: LinkImpairment;
  host?: string;
  port?: number;
  random?: () => number;
}

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface DelayProxy extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /**
   * Cuts the link: every connection through the proxy is dropped at once (both ends see it
   * reset, as behind a firewall that rejects), and new ones are closed as they come, until
   * `restore`.
   */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

const DEFAULT_LOSS_PENALTY_MS = 200;

/**
 * An application-level TCP proxy that delays what crosses it: the impairment method where the
 * kernel has no netem (results record which method ran). [design] Chunks keep their order: each
 * leaves no earlier than the one before it, as on a real link, so jitter never reorders a stream.
 */
export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  checkImpairment(options.forward);
  if (options.backward !== undefined) checkImpairment(options.backward);
  const random = options.random ?? Math.random;
  const sockets = new Set<Socket>();
  const declared = options.target;
  const targetOf = typeof declared === 'function' ? declared : () => declared;
  let cut = false;
  const server = createServer((inbound) => {
    if (cut) {
      inbound.on('error', () => {});
      inbound.resetAndDestroy();
      return;
    }
    let target: ProxyTarget;
    try {
      target = targetOf();
    } catch {
      inbound.destroy();
      return;
    }
    const outbound = connect(target.port, target.host);
    for (const socket of [inbound, outbound]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // Either side failing ends the pair; the error itself is the peer's business.
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    pipeDelayed(inbound, outbound, options.forward, random);
    pipeDelayed(outbound, inbound, options.backward ?? options.forward, random);
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    host: address,
    port,
    cut() {
      cut = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      cut = false;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function pipeDelayed(from: Socket, to: Socket, link: LinkImpairment, random: () => number): void {
  if (link.delayMs === 0 && !(link.jitterMs ?? 0) && !(link.loss ?? 0)) {
    // An unimpaired link (a relay that is there to be cut): straight through, as no timer can
    // be shorter than a millisecond.
    from.on('data', (chunk: Buffer) => {
      if (!to.destroyed) to.write(chunk);
    });
    from.on('end', () => to.end());
    return;
  }
  // One FIFO and one timer per direction: timers of different lengths do not fire in the order
  // they were set, so each chunk waiting on a timer of its own could overtake another.
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastDue = 0;
  let ended = false;
  const release = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      if (!to.destroyed) to.write(chunk);
    }
    if (queue.length > 0) {
      timer = setTimeout(release, Math.max(0, queue[0]!.due - now));
    } else if (ended) {
      to.end();
    }
  };
  from.on('data', (chunk: Buffer) => {
    let delay = link.delayMs + (link.jitterMs ?? 0) * random();
    if ((link.loss ?? 0) > 0 && random() < (link.loss ?? 0)) {
      delay += link.lossPenaltyMs ?? DEFAULT_LOSS_PENALTY_MS;
    }
    const due = Math.max(performance.now() + delay, lastDue);
    lastDue = due;
    queue.push({ due, chunk });
    if (timer === undefined) timer = setTimeout(release, Math.max(0, due - performance.now()));
  });
  from.on('end', () => {
    ended = true;
    if (timer === undefined) release();
  });
}

function checkImpairment(link: LinkImpairment): void {
  const bad =
    !(link.delayMs >= 0) ||
    !((link.jitterMs ?? 0) >= 0) ||
    !((link.loss ?? 0) >= 0 && (link.loss ?? 0) <= 1) ||
    !((link.lossPenaltyMs ?? 0) >= 0);
  if (bad) {
    throw new MqfedError(
      'INVALID_REQUEST',
      'impairment: delayMs, jitterMs and lossPenaltyMs must be ≥ 0 and loss in 0..1',
    );
  }
}
