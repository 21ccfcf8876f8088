import WebSocket from 'ws';
import type { RevocationWatch } from '../auth/index.ts';
import type { Clock, Logger } from '../common/index.ts';
import { MqfedError, type TokenClaims, toMqfedError } from '../protocol/index.ts';
import { type CallerAuth, READER_ROLES } from './caller-auth.ts';
import type { DiscoveryLimit, DiscoveryMetrics } from './discovery-metrics.ts';
import {
  decodeWatchClientFrame,
  type WatchClientFrame,
  type WatchServerFrame,
} from './watch-frames.ts';
import type { WatchHub, WatchSubscription } from './watch-hub.ts';
import type { WatchQuota } from './watch-quota.ts';

export interface WatchConnectionContext {
  hub: WatchHub;
  auth: CallerAuth;
  clock: Clock;
  logger: Logger;
  metrics: DiscoveryMetrics;
  maxWatchesPerSocket: number;
  maxWatchBufferBytes: number;
  /** The auth service's revocations: a socket whose token is revoked closes at once. */
  revocations?: RevocationWatch | undefined;
  /** Watches per token subject, shared by all sockets. */
  quota: WatchQuota;
  maxFiltersPerWatch: number;
  maxWatchFilterBytes: number;
  maxWatchFilterLevels: number;
}

/** WATCH_LIMIT_EXCEEDED, counted under the limit it hit. */
function overLimit(metrics: DiscoveryMetrics, limit: DiscoveryLimit, message: string): MqfedError {
  metrics.limitRefusals.inc({ limit });
  return new MqfedError('WATCH_LIMIT_EXCEEDED', message);
}

/** Checks the filters of one watch against the count, length and depth limits. */
function checkWatchFilters(filters: readonly string[], context: WatchConnectionContext): void {
  const { metrics } = context;
  if (filters.length > context.maxFiltersPerWatch) {
    throw overLimit(
      metrics,
      'filters_per_watch',
      `${filters.length} filters; a watch may hold ${context.maxFiltersPerWatch}`,
    );
  }
  for (const filter of filters) {
    if (Buffer.byteLength(filter) > context.maxWatchFilterBytes) {
      throw overLimit(
        metrics,
        'watch_filter_bytes',
        `a filter is longer than ${context.maxWatchFilterBytes} bytes`,
      );
    }
    // Counting separators stops early: no array of levels is built for a hostile filter.
    let levels = 1;
    for (let i = filter.indexOf('/'); i !== -1; i = filter.indexOf('/', i + 1)) {
      if (++levels > context.maxWatchFilterLevels) {
        throw overLimit(
          metrics,
          'watch_filter_levels',
          `a filter has more than ${context.maxWatchFilterLevels} levels`,
        );
      }
    }
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Serves one authenticated watch socket: its watches, its token's lifetime, and its failures.
 *
 * [design] Any bad frame closes this socket, and only this one, with the error's close code and
 * the error code as the reason: a watcher that sends garbage is broken, and an answer it cannot
 * parse would not help it. The socket lives as long as its token: at `exp` it is closed with
 * TOKEN_EXPIRED, unless the client sent `{type:'auth', token}` with a fresh token of the same
 * subject before, which moves the deadline to the new token's `exp`.
 */
export function serveWatchConnection(
  ws: WebSocket,
  initialClaims: TokenClaims,
  context: WatchConnectionContext,
): void {
  const { hub, auth, clock, logger, metrics } = context;
  const log = logger.child({ watcher: initialClaims.sub });
  const watches = new Map<string, WatchSubscription>();
  let claims = initialClaims;
  let expiryTimer: NodeJS.Timeout | undefined;
  let queue = Promise.resolve();
  let done = false;

  const subject = initialClaims.sub;
  const finish = () => {
    done = true;
    clearTimeout(expiryTimer);
    stopRevocations?.();
    for (const watch of watches.values()) {
      watch.unsubscribe();
      context.quota.give(subject);
    }
    watches.clear();
  };
  const fail = (error: unknown) => {
    if (done) return;
    const failure = toMqfedError(error);
    finish();
    metrics.watchClosures.inc({ code: failure.code });
    log.warn({ code: failure.code, reason: failure.message }, 'watch socket closed');
    ws.close(failure.wsCloseCode, failure.code);
  };
  // [design] Pushed, not waited for: a revoked watcher is cut off when the auth service says so,
  // not when its token would have expired. A re-auth with a revoked token fails in `verify`.
  const stopRevocations = context.revocations?.onEntry(() => {
    if (context.revocations?.isRevoked(claims)) {
      fail(new MqfedError('TOKEN_REVOKED', 'the watch token was revoked'));
    }
  });
  const send = (frame: WatchServerFrame) => {
    if (done || ws.readyState !== WebSocket.OPEN) return;
    // [design] A watcher that does not read would make us buffer without bound; drop it. Its
    // backlog is what is stuck, so there is no room for a close frame: the TCP connection goes.
    if (ws.bufferedAmount > context.maxWatchBufferBytes) {
      finish();
      metrics.watchClosures.inc({ code: 'TOO_SLOW' });
      log.warn({ bufferedBytes: ws.bufferedAmount }, 'watcher too slow, dropped');
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(frame));
  };
  const armExpiry = () => {
    clearTimeout(expiryTimer);
    const deadline = claims.exp * 1000;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, deadline - clock.now()));
    expiryTimer = setTimeout(() => {
      if (clock.now() >= deadline) fail(new MqfedError('TOKEN_EXPIRED', 'the watch token expired'));
      else armExpiry();
    }, delay).unref();
  };

  const handle = async (frame: WatchClientFrame) => {
    switch (frame.type) {
      case 'watch': {
        if (watches.has(frame.id)) {
          throw new MqfedError('INVALID_REQUEST', `id: watch ${frame.id} already exists`);
        }
        if (watches.size >= context.maxWatchesPerSocket) {
          throw overLimit(
            metrics,
            'watches_per_socket',
            `at most ${context.maxWatchesPerSocket} watches on one socket`,
          );
        }
        const selection = { filters: frame.filters, interestFilters: frame.interestFilters ?? [] };
        checkWatchFilters([...selection.filters, ...selection.interestFilters], context);
        try {
          context.quota.take(subject);
        } catch (error) {
          metrics.limitRefusals.inc({ limit: 'watches_per_subject' });
          throw error;
        }
        const watch = hub.subscribe(frame.id, selection, send);
        watches.set(frame.id, watch);
        // Subscribing and sending the snapshot happen in one turn: no event can come between.
        send(watch.snapshot);
        return;
      }
      case 'unwatch': {
        const watch = watches.get(frame.id);
        if (watch !== undefined) {
          watch.unsubscribe();
          watches.delete(frame.id);
          context.quota.give(subject);
        }
        send({ type: 'unwatched', id: frame.id });
        return;
      }
      case 'auth': {
        const fresh = await auth.verify(frame.token, READER_ROLES);
        auth.requireIdentity(fresh, claims.sub);
        if (done) return;
        claims = fresh;
        armExpiry();
        send({ type: 'authed', expiresAt: fresh.exp * 1000 });
        return;
      }
    }
  };
  const receive = async (data: WebSocket.RawData, isBinary: boolean) => {
    if (done) return;
    if (isBinary) throw new MqfedError('FRAME_MALFORMED', 'watch frames are JSON text, not binary');
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      throw new MqfedError('MALFORMED_JSON', 'the watch frame is not valid JSON');
    }
    await handle(decodeWatchClientFrame(parsed));
  };

  ws.on('message', (data, isBinary) => {
    // One frame at a time, in order: an `auth` frame waits for its verification.
    queue = queue.then(() => receive(data, isBinary)).catch(fail);
  });
  ws.on('error', (error: Error & { code?: string }) => {
    // ws has already closed the socket (1009 too big, 1007 bad UTF-8, 1002 protocol error).
    const code =
      error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'BODY_TOO_LARGE' : 'FRAME_MALFORMED';
    if (!done) metrics.watchClosures.inc({ code });
    log.warn({ code, reason: error.message }, 'watch socket failed');
    finish();
  });
  ws.on('close', finish);
  armExpiry();
  log.debug('watch socket open');
}
