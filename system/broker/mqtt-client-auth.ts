import { createHash } from 'node:crypto';
import type { TokenVerifier } from '../auth/index.ts';
import type { Clock } from '../common/index.ts';
import { filterCovers, type TokenClaims, toMqfedError, topicMatches } from '../protocol/index.ts';
import { ClientRefusal } from './mqtt-client-refusals.ts';

/** Who an MQTT client is, once its CONNECT was accepted. */
export interface ClientPrincipal {
  /** Its registered id; undefined for an anonymous client. */
  readonly id: string | undefined;
  /** Filters it may publish on and subscribe; undefined: everything (anonymous, when allowed). */
  readonly pub: readonly string[] | undefined;
  readonly sub: readonly string[] | undefined;
  /** The `jti` of the token behind the login, so revoking that one token cuts the client. */
  readonly jti?: string;
}

export interface ClientAuthOptions {
  /** The broker's token verifier: a client token must be for this broker, role `client`. */
  verifier: TokenVerifier;
  /**
   * Trades a client's id and secret for a token this broker accepts (the auth service's
   * `POST /token`). Undefined: secrets cannot be checked, only token passwords.
   */
  login: ((id: string, secret: string) => Promise<string>) | undefined;
  /** Take CONNECTs without credentials (full access). */
  allowAnonymous: boolean;
  clock: Clock;
  /** Checked logins remembered, so a reconnect costs no scrypt at the auth service. */
  maxCachedLogins?: number;
  /** Logins waiting for the auth service at once; more are refused (CONNACK 3). */
  maxPendingLogins?: number;
}

export interface ClientAuth {
  /** The principal of a CONNECT's username and password, or a ClientRefusal. */
  authenticate(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<ClientPrincipal>;
  /** Forgets remembered logins of `id` (its registration was revoked or its secret rotated). */
  forget(id: string): void;
}

export const clientAuthDefaults = { maxCachedLogins: 10_000, maxPendingLogins: 16 } as const;

/** A JWT is three base64url parts, the first a JSON object (`{"` encodes as `eyJ`). */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export const ANONYMOUS: ClientPrincipal = Object.freeze({
  id: undefined,
  pub: undefined,
  sub: undefined,
});

interface CachedLogin {
  readonly id: string;
  readonly principal: ClientPrincipal;
  readonly expiresAtMs: number;
}

/**
 * Authenticates MQTT clients (docs/protocol.md, "MQTT clients"): username = registered id,
 * password = its secret (checked by the auth service, whose token this broker verifies) or a
 * token of role `client` the client fetched itself (verified offline). [design] A checked
 * secret is remembered by SHA-256 of id and secret until its token expires: a reconnect storm
 * costs the auth service one scrypt per client, not one per CONNECT, and the broker keeps no
 * secret in memory.
 */
export function createClientAuth(options: ClientAuthOptions): ClientAuth {
  const maxCached = options.maxCachedLogins ?? clientAuthDefaults.maxCachedLogins;
  const maxPending = options.maxPendingLogins ?? clientAuthDefaults.maxPendingLogins;
  const cache = new Map<string, CachedLogin>();
  // Concurrent CONNECTs with the same credentials share one call to the auth service.
  const pending = new Map<string, Promise<CachedLogin>>();

  const principalOf = (claims: TokenClaims, username: string): CachedLogin => {
    if (claims.role !== 'client') {
      throw new ClientRefusal('not_client', `a ${claims.role} token is no client's`);
    }
    if (claims.sub !== username) {
      throw new ClientRefusal('bad_credentials', 'the token is not the username’s');
    }
    return {
      id: claims.sub,
      principal: Object.freeze({
        id: claims.sub,
        pub: claims.topics.pub,
        sub: claims.topics.sub,
        jti: claims.jti,
      }),
      expiresAtMs: claims.exp * 1000,
    };
  };
  const verify = async (token: string, username: string) => {
    try {
      return principalOf(await options.verifier.verify(token), username);
    } catch (error) {
      throw asRefusal(error);
    }
  };
  const login = async (username: string, secret: string): Promise<CachedLogin> => {
    if (options.login === undefined) {
      throw new ClientRefusal('auth_unavailable', 'this broker checks tokens only, not secrets');
    }
    let token: string;
    try {
      token = await options.login(username, secret);
    } catch (error) {
      throw asRefusal(error);
    }
    return verify(token, username);
  };

  return {
    async authenticate(username, password) {
      if (password === undefined || password.length === 0) {
        if (options.allowAnonymous) return ANONYMOUS;
        throw new ClientRefusal('anonymous', 'credentials are required on this broker');
      }
      if (username === undefined || username.length === 0) {
        throw new ClientRefusal('bad_credentials', 'a password needs the username it belongs to');
      }
      const secret = password.toString('utf8');
      if (JWT_SHAPE.test(secret)) return (await verify(secret, username)).principal;

      const key = createHash('sha256').update(username).update('\0').update(secret).digest('hex');
      const now = options.clock.now();
      const cached = cache.get(key);
      if (cached !== undefined && cached.expiresAtMs > now) return cached.principal;
      cache.delete(key);
      let checking = pending.get(key);
      if (checking === undefined) {
        if (pending.size >= maxPending) {
          throw new ClientRefusal(
            'auth_unavailable',
            'too many logins waiting for the auth service',
          );
        }
        checking = login(username, secret).finally(() => pending.delete(key));
        pending.set(key, checking);
      }
      const checked = await checking;
      cache.set(key, checked);
      // Insertion order is age order: past the bound, the oldest login is forgotten.
      if (cache.size > maxCached) cache.delete(cache.keys().next().value as string);
      return checked.principal;
    },
    forget(id) {
      for (const [key, entry] of cache) if (entry.id === id) cache.delete(key);
    },
  };
}

/** Token and login failures as the CONNACK they deserve. */
function asRefusal(error: unknown): ClientRefusal {
  if (error instanceof ClientRefusal) return error;
  const failure = toMqfedError(error);
  switch (failure.code) {
    case 'KEYS_UNAVAILABLE':
    case 'AUTH_UNAVAILABLE':
    case 'RATE_LIMITED':
    case 'INTERNAL':
      return new ClientRefusal('auth_unavailable', failure.message);
    default:
      return new ClientRefusal('bad_credentials', failure.message);
  }
}

/**
 * [design] The MQTT client id must be the client's own: its id, or its id, `/` and anything
 * (`c1/phone`), so one client can never take over another's session (and its queued
 * messages). `/` cannot occur in a registered id, so `c1/…` is never `c10`'s. An empty client
 * id, for which aedes picks `aedes_<uuid>`, is fine too.
 */
export function clientIdAllowed(principal: ClientPrincipal, clientId: string): boolean {
  if (principal.id === undefined) return true;
  return (
    clientId === principal.id ||
    clientId.startsWith(`${principal.id}/`) ||
    /^aedes_[0-9a-f-]{36}$/.test(clientId)
  );
}

/** May the client publish on `topic`? `$SYS` belongs to the broker, whoever asks. */
export function mayPublish(principal: ClientPrincipal, topic: string): boolean {
  if (topic.startsWith('$SYS')) return false;
  return principal.pub === undefined || principal.pub.some((filter) => topicMatches(filter, topic));
}

/** May the client subscribe `filter`? Only if one of its sub filters covers all of it. */
export function maySubscribe(principal: ClientPrincipal, filter: string): boolean {
  return principal.sub === undefined || principal.sub.some((scope) => filterCovers(scope, filter));
}
