import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import type { Clock } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';

/** The limits of `POST /token`; defaults in auth-service-options.ts. */
export interface TokenThrottleLimits {
  /** Failed requests an address may make before it has to wait. */
  addressFreeFailures: number;
  /** Failed requests naming one id (from anywhere) before requests naming it have to wait. */
  idFreeFailures: number;
  /** The first wait; each further failure doubles it, up to `maxBlockMs`. */
  firstBlockMs: number;
  maxBlockMs: number;
  /** A key with no failure for this long starts afresh. */
  forgetAfterMs: number;
  /** An address that got a token for an id passes that id's limit for this long. */
  trustSuccessMs: number;
  /** Most addresses, and most ids, remembered; the least recently failed are forgotten first. */
  maxEntries: number;
  /** Secret checks (scrypt) run at once; more requests wait in line. */
  maxConcurrentChecks: number;
  /** Requests waiting for a secret check; beyond, RATE_LIMITED at once. */
  maxQueuedChecks: number;
}

/** Why a request was throttled: the only values of the metric's `reason` label. */
export type ThrottleReason = 'address' | 'id' | 'queue_full';

interface Failures {
  count: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/**
 * The throttle of `POST /token`'s credentials grant. A wrong secret costs the service a scrypt derivation (tens of
 * milliseconds of CPU), so a flood of them would starve the legitimate callers. [design]
 * - Failures are counted per address and per named id; past a few free ones, the key waits an
 *   exponentially growing time, during which its requests are answered 429 RATE_LIMITED with
 *   `Retry-After` before any secret is checked. A success clears the address.
 * - Anybody may name an id, so an id limit alone would let an attacker lock a service out. The
 *   id limit is therefore looser than the address limit, and does not apply to an address that
 *   got a token for that id before (within `trustSuccessMs`): the service keeps getting tokens
 *   from where it runs while others guess at its id. A locked-out id otherwise waits at most
 *   `maxBlockMs` at a time.
 * - At most `maxConcurrentChecks` secret checks run at once and `maxQueuedChecks` wait; a request
 *   beyond is refused at once, so a flood from many addresses makes a legitimate caller wait for
 *   a short line, never for the whole flood.
 * - Every table is bounded (least recently used forgotten first), so many distinct ids or
 *   addresses cost a bounded amount of memory.
 */
export interface TokenThrottle {
  /** Route hook: refuses a throttled key, then waits for a turn at the secret check. */
  admit(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Route hook: counts the answer as a failure (401) or a success (200) of its keys. */
  record(request: FastifyRequest, statusCode: number): void;
  /** For tests and gauges: how many keys are remembered. */
  readonly entries: { addresses: number; ids: number; trusted: number };
}

export interface TokenThrottleOptions {
  limits: TokenThrottleLimits;
  clock: Clock;
  /** Counts refusals by reason. */
  throttled: Counter<'reason'>;
}

export function createTokenThrottle(options: TokenThrottleOptions): TokenThrottle {
  const { limits, clock, throttled } = options;
  const addresses = new Map<string, Failures>();
  const ids = new Map<string, Failures>();
  /** `id \n address` → when that address last got a token for that id. */
  const trusted = new Map<string, number>();
  let running = 0;
  const waiting: (() => void)[] = [];
  const released = new WeakSet<FastifyRequest>();

  /** A key's record, or none when it has been quiet long enough to start afresh. */
  const current = (table: Map<string, Failures>, key: string): Failures | undefined => {
    const entry = table.get(key);
    if (entry !== undefined && clock.now() - entry.lastFailureAt > limits.forgetAfterMs) {
      table.delete(key);
      return undefined;
    }
    return entry;
  };
  const fail = (table: Map<string, Failures>, key: string, free: number) => {
    const now = clock.now();
    const entry = current(table, key) ?? { count: 0, lastFailureAt: now, blockedUntil: 0 };
    entry.count++;
    entry.lastFailureAt = now;
    if (entry.count >= free) {
      const doublings = Math.min(30, entry.count - free);
      entry.blockedUntil = now + Math.min(limits.maxBlockMs, limits.firstBlockMs * 2 ** doublings);
    }
    // Re-inserted last: a Map iterates in insertion order, so the first key is the stalest.
    touch(table, key, entry);
  };
  /** Moves `key` to the end of `table` (most recent) and forgets the stalest past the bound. */
  const touch = <V>(table: Map<string, V>, key: string, value: V) => {
    table.delete(key);
    table.set(key, value);
    while (table.size > limits.maxEntries) {
      const stalest = table.keys().next().value;
      if (stalest === undefined) break;
      table.delete(stalest);
    }
  };
  const isTrusted = (id: string | undefined, address: string): boolean => {
    if (id === undefined) return false;
    const since = trusted.get(`${id}\n${address}`);
    return since !== undefined && clock.now() - since <= limits.trustSuccessMs;
  };
  const waitOf = (table: Map<string, Failures>, key: string | undefined): number => {
    if (key === undefined) return 0;
    const entry = current(table, key);
    return entry === undefined ? 0 : Math.max(0, entry.blockedUntil - clock.now());
  };
  const refuse = (reply: FastifyReply, reason: ThrottleReason, waitMs: number): MqfedError => {
    throttled.inc({ reason });
    void reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
    return new MqfedError(
      'RATE_LIMITED',
      reason === 'queue_full'
        ? 'too many token requests are waiting; retry shortly'
        : `too many failed token requests from this ${reason}; retry later`,
    );
  };
  const release = () => {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next();
  };

  return {
    async admit(request, reply) {
      if (isExchange(request)) return;
      const id = idOf(request);
      // An address that got a token for this id lately passes both limits for it: a broker
      // whose MQTT clients try wrong passwords (checked here on their behalf, from its
      // address) must still get its own tokens.
      const trustedHere = isTrusted(id, request.ip);
      const addressWait = trustedHere ? 0 : waitOf(addresses, request.ip);
      if (addressWait > 0) throw refuse(reply, 'address', addressWait);
      const idWait = trustedHere ? 0 : waitOf(ids, id);
      if (idWait > 0) throw refuse(reply, 'id', idWait);
      if (running >= limits.maxConcurrentChecks) {
        if (waiting.length >= limits.maxQueuedChecks) throw refuse(reply, 'queue_full', 1000);
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        running++;
      }
      // The turn passes on when the answer is gone, whatever it was, even to a vanished client;
      // one that vanished while it waited in line passes its turn on at once.
      const passOn = () => {
        if (released.has(request)) return;
        released.add(request);
        release();
      };
      if (reply.raw.destroyed) passOn();
      else reply.raw.once('close', passOn);
    },
    record(request, statusCode) {
      if (isExchange(request)) return;
      const id = idOf(request);
      if (statusCode === 401) {
        fail(addresses, request.ip, limits.addressFreeFailures);
        if (id !== undefined) fail(ids, id, limits.idFreeFailures);
      } else if (statusCode < 400) {
        addresses.delete(request.ip);
        if (id !== undefined) touch(trusted, `${id}\n${request.ip}`, clock.now());
      }
    },
    get entries() {
      return { addresses: addresses.size, ids: ids.size, trusted: trusted.size };
    },
  };
}

/**
 * An exchange (a bearer token for `auth`, no secret) costs one signature check, not a scrypt, so
 * it is not throttled: its failures say nothing about guessed secrets, and the services of a
 * federation on one machine share one address, which a shared failure count would lock out.
 */
function isExchange(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined;
}

/** The id a credentials request names; an exchange names none in its body. */
function idOf(request: FastifyRequest): string | undefined {
  const id = (request.body as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' && id.length <= 256 ? id : undefined;
}
