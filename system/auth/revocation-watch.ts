import WebSocket from 'ws';
import { type Clock, type Logger, systemClock, type TlsTrust } from '../common/index.ts';
import {
  REVOCATIONS_PATH,
  type RevocationEntry,
  type RevocationFeedFrame,
  revocationFeedFrameSchema,
} from '../protocol/index.ts';
import { RevocationSet } from './revocation-set.ts';
import type { RevocationCheck } from './revocation-verifier.ts';

export interface RevocationWatchOptions {
  /** `ws://` or `wss://` URL of the feed; `revocationFeedUrl(authUrl)` makes it. */
  url: string;
  clock?: Clock;
  logger?: Logger;
  /** The CA a wss:// feed's certificate must be signed by. */
  tls?: TlsTrust | undefined;
  /** Reconnect backoff: full jitter between 0 and min(max, base * 2^attempt). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  random?: () => number;
  /** Give up on a connection that sent no snapshot within this long, and dial again. */
  connectTimeoutMs?: number;
}

/**
 * The auth service's revocation list, kept current by its push feed. [design] While the feed is
 * down the last list is kept and used (fail open, with the staleness exposed): the control plane
 * being away must not stop the data plane (DESIGN.md §1), and a revocation made meanwhile is
 * acted on as soon as the feed is back, since the snapshot sent on every connect holds it.
 */
export interface RevocationWatch extends RevocationCheck {
  /** True while a feed connection is up and has sent its snapshot. */
  readonly connected: boolean;
  /** Entries held. */
  readonly size: number;
  /** Milliseconds since the feed last showed it was alive (a frame or a ping); Infinity before
   *  the first snapshot. */
  staleMs(): number;
  /** Resolves at the first snapshot. */
  readonly ready: Promise<void>;
  /**
   * Called with each entry that is new to this watch: made while it ran, whether pushed at once
   * or found in the snapshot after a reconnect. Entries made before the watch started are in the
   * list but not told: nothing of this service can predate them. Returns the unsubscribe.
   */
  onEntry(listener: (entry: RevocationEntry) => void): () => void;
  /** Called after every `onEntry` listener ran, with the delay since the entry was made (ms). */
  onApplied(listener: (entry: RevocationEntry, delayMs: number) => void): () => void;
  /** Drops the current feed connection; the watch reconnects (tests, operators' tooling). */
  disconnect(): void;
  close(): void;
}

export const revocationWatchDefaults = {
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  connectTimeoutMs: 10_000,
  // [design] room for a snapshot of ~100 000 entries; the list only holds unexpired revocations.
  maxFrameBytes: 16 * 1024 * 1024,
  // A feed silent for this many heartbeat intervals is taken for dead.
  missedHeartbeats: 3,
} as const;

const PRUNE_INTERVAL_MS = 60_000;

/** The feed URL of the auth service at `authUrl` (http → ws, https → wss). */
export function revocationFeedUrl(authUrl: string): string {
  const url = new URL(REVOCATIONS_PATH, authUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export function createRevocationWatch(options: RevocationWatchOptions): RevocationWatch {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const random = options.random ?? Math.random;
  const base = options.reconnectBaseMs ?? revocationWatchDefaults.reconnectBaseMs;
  const max = options.reconnectMaxMs ?? revocationWatchDefaults.reconnectMaxMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? revocationWatchDefaults.connectTimeoutMs;
  const startedAt = clock.now();
  const set = new RevocationSet();
  const entryListeners = new Set<(entry: RevocationEntry) => void>();
  const appliedListeners = new Set<(entry: RevocationEntry, delayMs: number) => void>();
  let ws: WebSocket | undefined;
  let connected = false;
  let closed = false;
  let attempt = 0;
  let heardAt: number | undefined;
  let heartbeatMs = connectTimeoutMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let liveness: NodeJS.Timeout | undefined;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const tell = (entry: RevocationEntry) => {
    for (const listener of entryListeners) {
      try {
        listener(entry);
      } catch (error) {
        logger?.error({ err: error, seq: entry.seq }, 'revocation listener failed');
      }
    }
    const delayMs = Math.max(0, clock.now() - entry.at);
    for (const listener of appliedListeners) listener(entry, delayMs);
  };
  const receive = (frame: RevocationFeedFrame) => {
    heardAt = clock.now();
    if (frame.type === 'entry') {
      if (set.knows(frame.entry)) return;
      set.add(frame.entry);
      tell(frame.entry);
      return;
    }
    heartbeatMs = frame.heartbeatMs;
    const fresh = frame.entries.filter((entry) => !set.knows(entry) && entry.at >= startedAt);
    set.replace(frame.entries);
    set.prune(clock.now());
    connected = true;
    attempt = 0;
    logger?.info({ entries: set.size, missed: fresh.length }, 'revocation feed connected');
    resolveReady();
    for (const entry of fresh) tell(entry);
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer !== undefined) return;
    const delay = random() * Math.min(max, base * 2 ** attempt);
    attempt += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect();
    }, delay).unref();
  };
  const armLiveness = (socket: WebSocket) => {
    clearInterval(liveness);
    const connectedAt = clock.now();
    liveness = setInterval(
      () => {
        const since = heardAt !== undefined && connected ? heardAt : connectedAt;
        const allowed = connected
          ? heartbeatMs * revocationWatchDefaults.missedHeartbeats
          : connectTimeoutMs;
        if (clock.now() - since > allowed) {
          logger?.warn({ silentMs: clock.now() - since }, 'revocation feed silent; reconnecting');
          socket.terminate();
        }
      },
      Math.max(50, Math.min(heartbeatMs, connectTimeoutMs) / 2),
    ).unref();
  };
  function connect(): void {
    if (closed) return;
    const socket = new WebSocket(options.url, {
      maxPayload: revocationWatchDefaults.maxFrameBytes,
      perMessageDeflate: false,
      ...(options.tls === undefined ? {} : { ca: options.tls.ca }),
    });
    ws = socket;
    armLiveness(socket);
    socket.on('ping', () => {
      heardAt = clock.now();
    });
    socket.on('message', (data, isBinary) => {
      if (ws !== socket) return;
      let frame: RevocationFeedFrame;
      try {
        if (isBinary) throw new Error('binary frame');
        frame = revocationFeedFrameSchema.parse(JSON.parse(data.toString()));
      } catch (error) {
        logger?.warn({ err: error }, 'revocation feed sent a bad frame; reconnecting');
        socket.terminate();
        return;
      }
      receive(frame);
      // The snapshot tells the heartbeat interval: watch for silence at that pace from now on.
      if (frame.type === 'snapshot') armLiveness(socket);
    });
    socket.on('error', (error) => {
      logger?.debug({ err: error }, 'revocation feed connection failed');
    });
    socket.on('close', () => lose(socket));
  }
  /** The feed connection is gone (or given up on): keep the list, dial again. */
  function lose(socket: WebSocket): void {
    if (ws !== socket) return;
    ws = undefined;
    clearInterval(liveness);
    if (connected) logger?.warn('revocation feed lost; keeping the last list and reconnecting');
    connected = false;
    socket.terminate();
    scheduleReconnect();
  }
  const pruner = setInterval(() => set.prune(clock.now()), PRUNE_INTERVAL_MS).unref();
  connect();

  return {
    get connected() {
      return connected;
    },
    get size() {
      return set.size;
    },
    staleMs: () => (heardAt === undefined ? Number.POSITIVE_INFINITY : clock.now() - heardAt),
    ready,
    isRevoked: (claims) => set.isRevoked(claims),
    onEntry(listener) {
      entryListeners.add(listener);
      return () => entryListeners.delete(listener);
    },
    onApplied(listener) {
      appliedListeners.add(listener);
      return () => appliedListeners.delete(listener);
    },
    disconnect() {
      if (ws !== undefined) lose(ws);
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(liveness);
      clearInterval(pruner);
      entryListeners.clear();
      appliedListeners.clear();
      const socket = ws;
      ws = undefined;
      connected = false;
      socket?.terminate();
    },
  };
}
