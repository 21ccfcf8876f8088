import type { RevocationEntry, TokenClaims } from '../protocol/index.ts';

/** Does `entry` revoke the token with these claims? The one rule, for the auth service and
 *  every verifier alike. */
export function revokes(entry: RevocationEntry, claims: Pick<TokenClaims, 'sub' | 'iat' | 'jti'>) {
  return entry.kind === 'token'
    ? entry.jti === claims.jti
    : entry.sub === claims.sub && claims.iat < entry.issuedBefore;
}

/**
 * Revocation entries indexed for the check every verification makes: one map lookup by `jti`,
 * one by `sub`. Entries past their `until` are dropped by `prune`. [design]
 */
export class RevocationSet {
  readonly #entries = new Map<number, RevocationEntry>();
  /** Per subject, the latest `issuedBefore` of its entries. */
  readonly #subjects = new Map<string, number>();
  readonly #tokens = new Set<string>();

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether this very entry is held: same `seq` and same `at`. An auth service started on a
   * fresh database numbers from 1 again, and its entries must not pass for old ones. [design]
   */
  knows(entry: RevocationEntry): boolean {
    return this.#entries.get(entry.seq)?.at === entry.at;
  }

  entries(): RevocationEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.seq - b.seq);
  }

  add(entry: RevocationEntry): void {
    this.#entries.set(entry.seq, entry);
    this.#index(entry);
  }

  /** Replaces everything with `entries` (a snapshot). */
  replace(entries: readonly RevocationEntry[]): void {
    this.#entries.clear();
    for (const entry of entries) this.#entries.set(entry.seq, entry);
    this.#reindex();
  }

  /** Drops entries whose every token has expired by `now`; returns how many. */
  prune(now: number): number {
    let dropped = 0;
    for (const [seq, entry] of this.#entries) {
      if (entry.until <= now) {
        this.#entries.delete(seq);
        dropped += 1;
      }
    }
    if (dropped > 0) this.#reindex();
    return dropped;
  }

  isRevoked(claims: Pick<TokenClaims, 'sub' | 'iat' | 'jti'>): boolean {
    if (this.#tokens.has(claims.jti)) return true;
    const issuedBefore = this.#subjects.get(claims.sub);
    return issuedBefore !== undefined && claims.iat < issuedBefore;
  }

  /** The latest `issuedBefore` of subject `sub`, if any entry names it. */
  issuedBefore(sub: string): number | undefined {
    return this.#subjects.get(sub);
  }

  #index(entry: RevocationEntry): void {
    if (entry.kind === 'token') {
      this.#tokens.add(entry.jti);
      return;
    }
    const known = this.#subjects.get(entry.sub);
    if (known === undefined || entry.issuedBefore > known) {
      this.#subjects.set(entry.sub, entry.issuedBefore);
    }
  }

  #reindex(): void {
    this.#subjects.clear();
    this.#tokens.clear();
    for (const entry of this.#entries.values()) this.#index(entry);
  }
}
