import { createAuthClient } from '../auth/index.ts';
import { createDiscoveryClient, type WatchEvent } from '../discovery/index.ts';
import type { TestFederation } from './broker.fixtures.ts';

/** A discovery-role client of the federation's discovery service, as an operator would use. */
export async function discoveryReader(federation: TestFederation) {
  const auth = createAuthClient({ url: federation.auth.url });
  const credentials = await auth.registerService(federation.auth.adminCredential, {
    role: 'discovery',
    topics: { pub: [], sub: [] },
  });
  const { token } = await auth.issueToken(credentials, 'discovery');
  return createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
}

/** A discovery watch on `filter` that records its events. */
export async function watchDiscovery(federation: TestFederation, filter: string) {
  const client = await discoveryReader(federation);
  const events: WatchEvent[] = [];
  const waiters = new Set<() => void>();
  const watch = await client.watch(filter, (event) => {
    events.push(event);
    for (const wake of waiters) wake();
  });
  return {
    client,
    events,
    next(predicate: (event: WatchEvent) => boolean, timeoutMs = 5_000): Promise<WatchEvent> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such watch event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    [Symbol.asyncDispose]: () => watch.close(),
  };
}
