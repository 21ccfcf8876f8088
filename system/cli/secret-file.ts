import { type FileHandle, open, rename, rm } from 'node:fs/promises';

/** A secret file being written: opened before the secret exists, filled in once it does. */
export interface PendingSecretFile {
  /** Writes the secret and puts the file in place, whole, in one rename. */
  commit(secret: string): Promise<void>;
  /** Removes what was prepared (the call that was to return the secret failed). */
  discard(): Promise<void>;
}

/**
 * Prepares `path` for a secret that only its owner may read (mode 0600). [design] The file is
 * created before the secret is asked for: a path that cannot be written fails before the auth
 * service hands out a secret that would then be lost. The secret goes to a temporary file beside
 * `path`, created 0600 and exclusively, and is renamed over it, so a broker reading `path` never
 * sees half a secret, and an old file's looser permissions never carry over to a new secret.
 */
export async function prepareSecretFile(path: string): Promise<PendingSecretFile> {
  const temporary = `${path}.${process.pid}.tmp`;
  const handle: FileHandle = await open(temporary, 'wx', 0o600);
  const discard = async () => {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
  };
  return {
    async commit(secret) {
      try {
        await handle.writeFile(`${secret}\n`);
        await handle.sync();
        await handle.close();
        await rename(temporary, path);
      } catch (error) {
        await discard();
        throw error;
      }
    },
    discard,
  };
}
