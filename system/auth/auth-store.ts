import type { JsonWebKey } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import {
  type RevocationEntry,
  revocationEntrySchema,
  type ServiceRole,
  serviceRoles,
  type TopicScopes,
  topicScopesSchema,
} from '../protocol/index.ts';

export interface ServiceRecord {
  readonly id: string;
  readonly role: ServiceRole;
  readonly topics: TopicScopes;
  readonly secretHash: string;
  readonly createdAt: number;
  readonly secretRotatedAt: number;
}

export interface SigningKeyRecord {
  readonly kid: string;
  /** The private key as a JWK (OKP, Ed25519). */
  readonly privateJwk: JsonWebKey;
  readonly createdAt: number;
  /** When a newer key took over signing; null for the key that signs now. */
  readonly retiredAt: number | null;
}

/** A revocation entry before the store numbered it. */
export type NewRevocationEntry = RevocationEntry extends infer E
  ? E extends RevocationEntry
    ? Omit<E, 'seq'>
    : never
  : never;

/** Registrations, secret hashes, signing keys and revocations, in one node:sqlite database file. */
export interface AuthStore {
  /** False when the id is taken. */
  insertService(record: ServiceRecord): boolean;
  findService(id: string): ServiceRecord | undefined;
  listServices(): ServiceRecord[];
  /** False when there is no such service. */
  replaceSecret(id: string, secretHash: string, at: number): boolean;
  /** Sets role and topic scopes (provisioning); false when there is no such service. */
  updateScopes(id: string, role: ServiceRole, topics: TopicScopes): boolean;
  /** False when there is no such service. */
  deleteService(id: string): boolean;
  signingKeys(): SigningKeyRecord[];
  /** Retires the signing key (if any) and makes `next` the one that signs, atomically. */
  promoteSigningKey(next: SigningKeyRecord, at: number): void;
  deleteKeysRetiredBefore(at: number): number;
  /** Stores a revocation entry (anything but its `seq`) and answers it with the `seq` given. */
  insertRevocation(entry: NewRevocationEntry): RevocationEntry;
  listRevocations(): RevocationEntry[];
  /** Deletes entries whose `until` is at or before `at`. */
  deleteRevocationsUntil(at: number): number;
  close(): void;
}

const schema = `
  CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    topics TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    secret_rotated_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  ) STRICT;
  CREATE TABLE IF NOT EXISTS revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry TEXT NOT NULL,
    until INTEGER NOT NULL
  ) STRICT;
  PRAGMA user_version = 1;
`;

export function openAuthStore(path: string): AuthStore {
  const db = new DatabaseSync(path);
  // The file holds private signing keys: owner only, whatever the umask. [design]
  chmodSync(path, 0o600);
  db.exec(schema);

  const statements = {
    insertService: db.prepare(
      `INSERT INTO services (id, role, topics, secret_hash, created_at, secret_rotated_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    findService: db.prepare('SELECT * FROM services WHERE id = ?'),
    listServices: db.prepare('SELECT * FROM services ORDER BY id'),
    replaceSecret: db.prepare(
      'UPDATE services SET secret_hash = ?, secret_rotated_at = ? WHERE id = ?',
    ),
    updateScopes: db.prepare('UPDATE services SET role = ?, topics = ? WHERE id = ?'),
    deleteService: db.prepare('DELETE FROM services WHERE id = ?'),
    signingKeys: db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    retireSigningKey: db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL'),
    insertSigningKey: db.prepare(
      'INSERT INTO signing_keys (kid, private_jwk, created_at, retired_at) VALUES (?, ?, ?, NULL)',
    ),
    deleteKeysRetiredBefore: db.prepare(
      'DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?',
    ),
    // AUTOINCREMENT: a seq is never handed out twice, even after the newest entry was pruned,
    // so a feed client's "entries after seq N" stays true across prunes and restarts. [design]
    insertRevocation: db.prepare('INSERT INTO revocations (entry, until) VALUES (?, ?)'),
    listRevocations: db.prepare('SELECT seq, entry FROM revocations ORDER BY seq'),
    deleteRevocationsUntil: db.prepare('DELETE FROM revocations WHERE until <= ?'),
  };

  return {
    insertService(record) {
      const { changes } = statements.insertService.run(
        record.id,
        record.role,
        JSON.stringify(record.topics),
        record.secretHash,
        record.createdAt,
        record.secretRotatedAt,
      );
      return changes === 1;
    },
    findService(id) {
      const row = statements.findService.get(id);
      return row === undefined ? undefined : toServiceRecord(row);
    },
    listServices() {
      return statements.listServices.all().map(toServiceRecord);
    },
    replaceSecret(id, secretHash, at) {
      return statements.replaceSecret.run(secretHash, at, id).changes === 1;
    },
    updateScopes(id, role, topics) {
      return statements.updateScopes.run(role, JSON.stringify(topics), id).changes === 1;
    },
    deleteService(id) {
      return statements.deleteService.run(id).changes === 1;
    },
    signingKeys() {
      return statements.signingKeys.all().map(toSigningKeyRecord);
    },
    promoteSigningKey(next, at) {
      db.exec('BEGIN IMMEDIATE');
      try {
        statements.retireSigningKey.run(at);
        statements.insertSigningKey.run(next.kid, JSON.stringify(next.privateJwk), next.createdAt);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
    deleteKeysRetiredBefore(at) {
      return Number(statements.deleteKeysRetiredBefore.run(at).changes);
    },
    insertRevocation(entry) {
      const { lastInsertRowid } = statements.insertRevocation.run(
        JSON.stringify(entry),
        entry.until,
      );
      return revocationEntrySchema.parse({ ...entry, seq: Number(lastInsertRowid) });
    },
    listRevocations() {
      return statements.listRevocations
        .all()
        .map((row) =>
          revocationEntrySchema.parse({ ...JSON.parse(String(row.entry)), seq: Number(row.seq) }),
        );
    },
    deleteRevocationsUntil(at) {
      return Number(statements.deleteRevocationsUntil.run(at).changes);
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}

type Row = Record<string, unknown>;

function toServiceRecord(row: Row): ServiceRecord {
  const role = serviceRoles.find((candidate) => candidate === row.role);
  if (role === undefined) throw new Error(`stored service ${String(row.id)} has an unknown role`);
  return {
    id: String(row.id),
    role,
    topics: topicScopesSchema.parse(JSON.parse(String(row.topics))),
    secretHash: String(row.secret_hash),
    createdAt: Number(row.created_at),
    secretRotatedAt: Number(row.secret_rotated_at),
  };
}

function toSigningKeyRecord(row: Row): SigningKeyRecord {
  return {
    kid: String(row.kid),
    privateJwk: JSON.parse(String(row.private_jwk)) as JsonWebKey,
    createdAt: Number(row.created_at),
    retiredAt: row.retired_at === null ? null : Number(row.retired_at),
  };
}
