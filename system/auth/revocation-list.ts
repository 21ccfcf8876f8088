import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../common/index.ts';
import type { RevocationEntry, TokenClaims } from '../protocol/index.ts';
import type { AuthStore } from './auth-store.ts';
import { RevocationSet } from './revocation-set.ts';

export interface RevocationListOptions {
  store: AuthStore;
  clock: Clock;
  /**
   * How long an entry outlives the tokens it names: the longest token lifetime plus the clock
   * skew verifiers allow. After that every such token has expired and the entry is dropped.
   */
  retainMs: number;
  /** How long a token lives; a jti entry without an `exp` lasts this long (plus `retainMs`). */
  tokenTtlMs: number;
}

/** The auth service's revocation list: kept in the store, told to the feed as it grows. */
export interface RevocationList {
  /**
   * Revokes every token of `sub` issued until now: the service was revoked or its secret
   * rotated. Tokens of the current second are revoked too (`iat` has whole seconds), so a token
   * issued with a new secret is usable from the next second on: see `settled`.
   */
  revokeSubject(sub: string, reason: 'revoked' | 'secret-rotated'): RevocationEntry;
  /** Revokes one token by its `jti`; `exp` (epoch seconds), when known, bounds the entry's life. */
  revokeToken(jti: string, exp?: number): RevocationEntry;
  entries(): RevocationEntry[];
  isRevoked(claims: Pick<TokenClaims, 'sub' | 'iat' | 'jti'>): boolean;
  /** Resolves once a token issued for `sub` now is no longer caught by its subject entries. */
  settled(sub: string): Promise<void>;
  /** Called with each new entry, right after it is stored. Returns the unsubscribe. */
  onEntry(listener: (entry: RevocationEntry) => void): () => void;
  readonly size: number;
  close(): void;
}

const MAX_PRUNE_INTERVAL_MS = 60_000;

export function createRevocationList(options: RevocationListOptions): RevocationList {
  const { store, clock, retainMs } = options;
  const set = new RevocationSet();
  const listeners = new Set<(entry: RevocationEntry) => void>();
  const prune = () => {
    const now = clock.now();
    store.deleteRevocationsUntil(now);
    set.prune(now);
  };
  store.deleteRevocationsUntil(clock.now());
  set.replace(store.listRevocations());
  // [design] bounded: entries live only as long as the tokens they name could.
  const pruner = setInterval(prune, Math.min(retainMs, MAX_PRUNE_INTERVAL_MS)).unref();

  const publish = (entry: RevocationEntry) => {
    set.add(entry);
    for (const listener of listeners) listener(entry);
    return entry;
  };

  return {
    revokeSubject(sub, reason) {
      const at = clock.now();
      return publish(
        store.insertRevocation({
          kind: 'subject',
          sub,
          issuedBefore: Math.floor(at / 1000) + 1,
          reason,
          at,
          until: at + options.tokenTtlMs + retainMs,
        }),
      );
    },
    revokeToken(jti, exp) {
      const at = clock.now();
      const latest = at + options.tokenTtlMs + retainMs;
      // An `exp` given by the operator may shorten the entry's life, never stretch it. [design]
      const until = exp === undefined ? latest : Math.min(latest, exp * 1000 + retainMs);
      return publish(store.insertRevocation({ kind: 'token', jti, at, until }));
    },
    entries() {
      // Pruned first: a snapshot never carries an entry whose tokens have all expired.
      prune();
      return set.entries();
    },
    isRevoked: (claims) => set.isRevoked(claims),
    async settled(sub) {
      const issuedBefore = set.issuedBefore(sub);
      if (issuedBefore === undefined) return;
      const wait = issuedBefore * 1000 - clock.now();
      if (wait > 0) await sleep(wait);
    },
    onEntry(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get size() {
      return set.size;
    },
    close() {
      clearInterval(pruner);
      listeners.clear();
    },
  };
}
