import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createAuthClient, startAuthService } from '../auth/index.ts';
import { createDiscoveryClient, startDiscoveryService } from '../discovery/index.ts';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

const adminCredential = 'cli-broker-admin-credential';

async function startControlPlane() {
  const dir = await tempDir('mqfed-cli-broker-');
  const auth = await startAuthService({ dataDir: dir.path, adminCredential, logLevel: 'silent' });
  const discovery = await startDiscoveryService({
    jwksUrl: auth.jwksUrl,
    issuer: auth.issuer,
    audience: auth.audience,
    logLevel: 'silent',
  });
  const client = createAuthClient({ url: auth.url });
  return {
    auth,
    discovery,
    dir,
    register: (id: string) =>
      client.registerService(adminCredential, {
        id,
        role: 'broker',
        topics: { pub: ['#'], sub: ['#'] },
      }),
    reader: async () => {
      const { id, secret } = await client.registerService(adminCredential, {
        role: 'discovery',
        topics: { pub: [], sub: [] },
      });
      const { token } = await client.issueToken({ id, secret }, 'discovery');
      return createDiscoveryClient({ url: discovery.url, token: async () => token });
    },
    async [Symbol.asyncDispose]() {
      await discovery.close();
      await auth.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** `mqfed broker` as `id`, against the control plane, MQTT on a free port. */
function brokerArgv(
  plane: { auth: { url: string }; discovery: { url: string } },
  id: string,
): string[] {
  return [
    'broker',
    '--id',
    id,
    '--auth-url',
    plane.auth.url,
    '--discovery-url',
    plane.discovery.url,
    '--mqtt-port',
    '0',
  ];
}

describe('mqfed broker runs one broker service', () => {
  it('registers with discovery, prints its URLs, and deregisters on SIGTERM', async () => {
    await using plane = await startControlPlane();
    const { secret } = await plane.register('edge-1');
    const secretFile = join(plane.dir.path, 'secret');
    await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
    await using child = spawnMqfed([
      ...brokerArgv(plane, 'edge-1'),
      '--secret-file',
      secretFile,
      '--declare',
      'sensors/#',
    ]);
    const line = await child.nextLine();
    const match =
      /^broker edge-1 mqtt mqtt:\/\/127\.0\.0\.1:\d+ http (http:\/\/127\.0\.0\.1:(\d+)) link (\S+)$/.exec(
        line,
      );
    expect(match, line).not.toBeNull();
    const [, url, port, linkUrl] = match!;
    expect(linkUrl).toBe(`ws://127.0.0.1:${port}/peer`);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('mqfed_broker_links{');

    const discovery = await plane.reader();
    expect(await discovery.lookup('sensors/t1')).toEqual([
      expect.objectContaining({ id: 'edge-1', linkUrl, topics: ['sensors/#'] }),
    ]);
    expect(await child.stop()).toEqual({ code: 0, signal: null });
    expect(await discovery.lookup()).toEqual([]);
  });

  it('takes --max-clients from MQFED_MAX_CLIENTS and refuses a client over it with CONNACK 3', async () => {
    await using plane = await startControlPlane();
    const { secret } = await plane.register('edge-2');
    await using child = spawnMqfed(brokerArgv(plane, 'edge-2'), {
      MQFED_BROKER_SECRET: secret,
      MQFED_MAX_CLIENTS: '1',
    });
    const line = await child.nextLine();
    const mqttUrl = /mqtt (mqtt:\/\/\S+)/.exec(line)?.[1];
    expect(mqttUrl, line).toBeDefined();
    // Anonymous clients are taken: every listener binds loopback.
    const first = await mqtt.connectAsync(mqttUrl ?? '', { clientId: 'first', reconnectPeriod: 0 });
    try {
      const second = mqtt.connectAsync(mqttUrl ?? '', { clientId: 'second', reconnectPeriod: 0 });
      await expect(second).rejects.toMatchObject({ code: 3 });
    } finally {
      await first.endAsync(true);
    }
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it('exits 1 with SCOPE_DENIED when it declares topics outside its pub scope, before it serves', async () => {
    await using plane = await startControlPlane();
    const { secret } = await createAuthClient({ url: plane.auth.url }).registerService(
      adminCredential,
      { id: 'edge-3', role: 'broker', topics: { pub: ['site/3/#'], sub: ['#'] } },
    );
    const result = await mqfed([...brokerArgv(plane, 'edge-3'), '--declare', 'site/3/#,site/4/#'], {
      MQFED_BROKER_SECRET: secret,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // Its log lines come first; the last line says why it stopped.
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      "mqfed: SCOPE_DENIED: declared topics outside this broker's pub scope (site/3/#): site/4/#",
    );
  });

  it('exits 1 with the auth service’s code when its secret is wrong', async () => {
    await using plane = await startControlPlane();
    await plane.register('edge-2');
    const result = await mqfed(brokerArgv(plane, 'edge-2'), { MQFED_BROKER_SECRET: 'wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CLIENT_CREDENTIALS_INVALID');
  });

  it('exits 1 naming the auth service it cannot reach, after retrying (not silently)', async () => {
    // A port that refuses: bound, then closed again.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    await using child = spawnMqfed(
      [
        'broker',
        '--id',
        'edge-3',
        '--auth-url',
        `http://127.0.0.1:${port}`,
        '--discovery-url',
        `http://127.0.0.1:${port}`,
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
      ],
      { MQFED_BROKER_SECRET: 'some-secret-value', MQFED_INSECURE: '1' },
    );
    // The token fetches retry (each nested in the next) for about half a minute in all.
    const [code] = (await once(child.child, 'exit')) as [number | null];
    const result = { code, stderr: child.stderr() };
    // Before: the retries' timers held nothing, so the process ended mid-retry with code 13.
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
  }, 90_000);

  const required = ['--auth-url', 'http://127.0.0.1:9', '--discovery-url', 'http://127.0.0.1:9'];
  // The secret comes from the environment in every row but two: the one without any, and the
  // one that puts it on the command line, where `ps` would show it.
  const secretEnv = { MQFED_BROKER_SECRET: 's' };
  it.each([
    [[...required], '--id', secretEnv],
    [['--id', 'b', ...required], '--secret-file', {}],
    [['--id', 'b', '--secret', 's', ...required], '--secret', {}],
    [['--id', 'b', '--auth-url', 'http://127.0.0.1:9'], '--discovery-url', secretEnv],
    [['--id', 'b', ...required, '--mqtt-port', '-1'], '--mqtt-port', secretEnv],
    [['--id', 'b', ...required, '--declare', 'a/#/b'], '--declare', secretEnv],
    [['--id', 'b', ...required, '--max-payload', '0'], '--max-payload', secretEnv],
    [['--id', 'b', ...required, '--link-idle-grace', 'soon'], '--link-idle-grace', secretEnv],
    [['--id', 'b', ...required, '--max-clients', '0'], '--max-clients', secretEnv],
    [['--id', 'b', ...required], 'MQFED_MAX_CLIENTS', { ...secretEnv, MQFED_MAX_CLIENTS: 'many' }],
    [['--id', 'b', ...required, '--bogus'], '--bogus', secretEnv],
  ])('refuses %j with exit code 2 naming %s', async (args, flag, env) => {
    const result = await mqfed(['broker', ...args], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(flag)]);
  });
});
