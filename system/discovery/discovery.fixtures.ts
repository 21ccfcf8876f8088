import { type AuthService, createAuthClient, startAuthService } from '../auth/index.ts';
import { tempDir } from '../common/testing.ts';
import type { ServiceRole, TopicScopes } from '../protocol/index.ts';
import { type DiscoveryService, startDiscoveryService } from './discovery-service.ts';
import type { DiscoveryServiceOptions } from './discovery-service-options.ts';

/** Shared pieces of the discovery tests: a clock the test moves, a real auth service, tokens. */

export { call, type ManualClock, manualClock } from '../common/testing.ts';

const adminCredential = 'discovery-test-admin-credential';

export interface Federation extends AsyncDisposable {
  readonly auth: AuthService;
  readonly discovery: DiscoveryService;
  /** Registers a service with the auth service; answers its id and secret. */
  credentialsFor(
    id: string,
    role: ServiceRole,
    topics?: Partial<TopicScopes>,
  ): Promise<Credentials>;
  /** A new token for discovery, for registered credentials. */
  tokenOf(credentials: Credentials): Promise<string>;
  /** Registers a service with the auth service and returns a token for it. */
  tokenFor(id: string, role: ServiceRole, topics?: Partial<TopicScopes>): Promise<string>;
}

export interface Credentials {
  id: string;
  secret: string;
}

/** An auth service in a temp dir and a discovery service that trusts it. */
export async function startFederation(
  options: Partial<DiscoveryServiceOptions> = {},
  authTokenTtlMs?: number,
): Promise<Federation> {
  const dataDir = await tempDir('mqfed-discovery-');
  const auth = await startAuthService({
    dataDir: dataDir.path,
    adminCredential,
    logLevel: 'silent',
    ...(authTokenTtlMs === undefined ? {} : { tokenTtlMs: authTokenTtlMs }),
  });
  const discovery = await startDiscoveryService({
    jwksUrl: auth.jwksUrl,
    issuer: auth.issuer,
    audience: auth.audience,
    logLevel: 'silent',
    ...options,
  }).catch(async (error: unknown) => {
    await auth.close();
    throw error;
  });
  const client = createAuthClient({ url: auth.url });
  const credentialsFor: Federation['credentialsFor'] = (id, role, topics = {}) =>
    client.registerService(adminCredential, {
      id,
      role,
      topics: { pub: topics.pub ?? [], sub: topics.sub ?? [] },
    });
  // Tokens for discovery: it accepts no other audience.
  const tokenOf = async (credentials: Credentials) =>
    (await client.issueToken(credentials, 'discovery')).token;
  return {
    auth,
    discovery,
    credentialsFor,
    tokenOf,
    tokenFor: async (id, role, topics) => tokenOf(await credentialsFor(id, role, topics)),
    async [Symbol.asyncDispose]() {
      await discovery.close();
      await auth.close();
      await dataDir[Symbol.asyncDispose]();
    },
  };
}
