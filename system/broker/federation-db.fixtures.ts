import { afterEach, beforeEach } from 'vitest';
import { type TempDir, tempDir } from '../common/testing.ts';
import { openFederationDb } from './federation-db.ts';
import type { FederationStore } from './federation-store.ts';

/**
 * SQLite federation stores on one data directory per test, closed and removed after it. `open`
 * is a process starting on that directory: stores opened before it are flushed first, since a
 * crash comes between event-loop turns, after their group commit.
 */
export function sqliteStores(prefix: string): { open(): FederationStore } {
  let dir: TempDir;
  const stores: FederationStore[] = [];
  beforeEach(async () => {
    dir = await tempDir(prefix);
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) store.close();
    await dir[Symbol.asyncDispose]();
  });
  return {
    open() {
      for (const earlier of stores) earlier.flush();
      const store = openFederationDb(dir.path);
      stores.push(store);
      return store;
    },
  };
}
