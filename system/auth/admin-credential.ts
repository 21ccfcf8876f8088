import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MqfedError } from '../protocol/index.ts';

export const ADMIN_CREDENTIAL_FILE = 'admin-credential';

/** Where the admin credential came from: the options, the data directory, or freshly made. */
export type AdminCredentialSource = 'option' | 'file' | 'generated';

export interface AdminCredential {
  readonly value: string;
  readonly source: AdminCredentialSource;
  /** The file it was read from or written to; absent when it came from the options. */
  readonly path?: string;
  /** Set when the file can be read by group or others, which the operator should fix. */
  readonly looseMode?: number;
}

/**
 * The operator's admin credential. An explicit one wins; otherwise the one kept in the data
 * directory; otherwise a new one is generated and written there readable by the owner only, so
 * a first start needs no configuration and nothing secret appears in logs. [design]
 */
export async function loadAdminCredential(
  dataDir: string,
  explicit: string | undefined,
): Promise<AdminCredential> {
  if (explicit !== undefined) return { value: explicit, source: 'option' };
  const path = join(dataDir, ADMIN_CREDENTIAL_FILE);
  const existing = await readExisting(path);
  if (existing !== undefined) {
    const mode = (await stat(path)).mode & 0o777;
    return { value: existing, source: 'file', path, ...(mode & 0o077 ? { looseMode: mode } : {}) };
  }
  const value = randomBytes(32).toString('base64url');
  // `wx` fails if another process created the file meanwhile, rather than overwriting it.
  await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, source: 'generated', path };
}

async function readExisting(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value = text.trim();
  if (value.length < 16) {
    throw new MqfedError(
      'INTERNAL',
      `the admin credential in ${path} is shorter than 16 characters`,
    );
  }
  return value;
}
