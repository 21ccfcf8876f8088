import { describe, expect, it } from 'vitest';
import { createAuthClient, startAuthService } from '../auth/index.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

const adminCredential = 'cli-discovery-admin-credential';

async function startTestAuth() {
  const dir = await tempDir('mqfed-cli-discovery-');
  const auth = await startAuthService({ dataDir: dir.path, adminCredential, logLevel: 'silent' });
  return {
    auth,
    async [Symbol.asyncDispose]() {
      await auth.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

describe('mqfed discovery runs the discovery service', () => {
  it('prints its URLs, trusts the auth service’s tokens, and exits 0 on SIGTERM', async () => {
    await using started = await startTestAuth();
    await using child = spawnMqfed([
      'discovery',
      '--auth-url',
      started.auth.url,
      '--port',
      '0',
      '--lease-ttl',
      '2s',
      '--max-sessions-per-broker',
      '1',
    ]);
    {
      const first = await child.nextLine();
      const match = /^discovery (http:\/\/127\.0\.0\.1:(\d+)) watch (\S+)$/.exec(first);
      expect(match, first).not.toBeNull();
      const [, url, port, watchUrl] = match!;
      expect(watchUrl).toBe(`ws://127.0.0.1:${port}/watch`);
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });

      const authClient = createAuthClient({ url: started.auth.url });
      const credentials = await authClient.registerService(adminCredential, {
        id: 'b1',
        role: 'broker',
        topics: { pub: ['#'], sub: [] },
      });
      const { token } = await authClient.issueToken(credentials, 'discovery');
      const discovery = createDiscoveryClient({ url: url!, token: async () => token });
      const lease = await discovery.register({ id: 'b1', linkUrl: 'ws://b1/peer' });
      expect(lease.leaseTtlMs).toBe(2_000);
      expect((await discovery.lookup()).map((broker) => broker.id)).toEqual(['b1']);
      await discovery.claimSession('c1');
      const refused = await discovery.claimSession('c2').catch((error: { code?: string }) => error);
      expect(refused).toMatchObject({ code: 'SESSION_LIMIT_EXCEEDED' });
    }
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it.each([
    [['--auth-url', 'http://127.0.0.1:9', '--lease-ttl', 'nope'], {}, '--lease-ttl'],
    [['--auth-url', 'http://127.0.0.1:9', '--lease-ttl', '10ms'], {}, '--lease-ttl'],
    [['--auth-url', 'http://127.0.0.1:9'], { MQFED_LEASE_TTL: 'nope' }, 'MQFED_LEASE_TTL'],
    [['--auth-url', 'ftp://127.0.0.1:9'], {}, '--auth-url'],
    [['--auth-url', 'http://127.0.0.1:9', '--port', '70000'], {}, '--port'],
    [['--auth-url', 'http://127.0.0.1:9', '--log-level', 'loud'], {}, '--log-level'],
    [['--auth-url', 'http://127.0.0.1:9', '--bogus'], {}, '--bogus'],
    [['--auth-url', 'http://127.0.0.1:9', '--max-sessions', '0'], {}, '--max-sessions'],
    [
      ['--auth-url', 'http://127.0.0.1:9'],
      { MQFED_SESSION_ORPHAN_TTL: 'forever' },
      'MQFED_SESSION_ORPHAN_TTL',
    ],
    [[], {}, '--auth-url'],
  ])('%j %j exits 2 with one line naming %s', async (args, env, flag) => {
    const result = await mqfed(['discovery', ...args], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(flag);
  });
});
