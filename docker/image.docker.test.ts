import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../system/common/testing.ts';
import { haveDocker } from './docker.fixtures.ts';
import { MQFED_IMAGE, MQFED_OFFICIAL_BASE } from './image-name.ts';

// Talks to the Docker CLI directly: every step is a command one could type, and nothing needs
// a reaper container (which cannot be pulled without a registry). Every container, network and
// volume is named with this run's prefix and removed in afterAll, whatever failed.
const execFileAsync = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const prefix = `mqfed-test-${randomBytes(3).toString('hex')}`;
const ADMIN_CREDENTIAL = 'docker-test-admin-credential';
const created = { containers: [] as string[], networks: [] as string[], volumes: [] as string[] };

async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('docker', args, { maxBuffer: 32 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`docker ${args.join(' ')} failed: ${stderr || stdout || String(error)}`);
  }
}

/** `docker run -d` with a name this file cleans up; returns that name. */
async function startContainer(name: string, ...args: string[]): Promise<string> {
  const full = `${prefix}-${name}`;
  created.containers.push(full);
  await docker('run', '--detach', '--name', full, ...args);
  return full;
}

/** Runs node inside the image (not the mqfed entrypoint) and returns what it printed. */
function nodeInImage(script: string): Promise<string> {
  return docker('run', '--rm', '--entrypoint', 'node', MQFED_IMAGE, '-e', script);
}

async function waitUntilHealthy(container: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [running, health] = (
      await docker('inspect', '--format', '{{.State.Running}} {{.State.Health.Status}}', container)
    ).split(' ');
    if (health === 'healthy') return;
    if (running !== 'true' || health === 'unhealthy' || Date.now() > deadline) {
      const logs = await docker('logs', '--tail', '20', container).catch(() => '');
      throw new Error(`${container} is ${running === 'true' ? health : 'not running'}: ${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function removeQuietly(...args: string[]): Promise<void> {
  await docker(...args).catch(() => undefined);
}

beforeAll(async () => {
  if (!haveDocker) return;
  // Builds or, when nothing changed, just confirms the image (every layer cached): the tests
  // always see the current sources.
  await execFileAsync('bash', ['docker/build-image.sh'], {
    cwd: repo,
    maxBuffer: 64 * 1024 * 1024,
  });
});

afterAll(async () => {
  if (created.containers.length > 0) await removeQuietly('rm', '--force', ...created.containers);
  for (const network of created.networks) await removeQuietly('network', 'rm', network);
  for (const volume of created.volumes) await removeQuietly('volume', 'rm', '--force', volume);
});

describe.skipIf(!haveDocker)('the mqfed image', () => {
  it('defaults its base argument to the official image docker/.env names', () => {
    const dockerfile = readFileSync(new URL('./Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toContain(`ARG BASE_IMAGE=${MQFED_OFFICIAL_BASE}\n`);
  });

  it('runs the mqfed CLI: with no command it prints the command list', async () => {
    const help = await docker('run', '--rm', MQFED_IMAGE);
    for (const command of ['auth', 'discovery', 'broker', 'run', 'list', 'report', 'compare']) {
      expect(help).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('runs testbed commands too: `list` loads every shipped scenario', async () => {
    expect(await docker('run', '--rm', MQFED_IMAGE, 'list')).toMatch(/^paper-1\s/m);
  });

  it('runs as the unprivileged user 1000, not root', async () => {
    expect(await docker('inspect', '--format', '{{.Config.User}}', MQFED_IMAGE)).toBe('1000:1000');
    expect(await nodeInImage('console.log(process.getuid(), process.getgid())')).toBe('1000 1000');
  });

  it('holds the production dependencies and no dev tool', async () => {
    const present = JSON.parse(
      await nodeInImage(
        `const names = ['vitest', 'typescript', '@biomejs/biome', 'playwright-core', 'node', 'fastify', 'aedes', 'mqtt'];
         console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, fs.existsSync('node_modules/' + n)]))));`,
      ),
    );
    expect(present).toEqual({
      vitest: false,
      typescript: false,
      '@biomejs/biome': false,
      'playwright-core': false,
      node: false,
      fastify: true,
      aedes: true,
      mqtt: true,
    });
  });

  it('holds no tests, fixtures or contract suites of the project', async () => {
    const found = await nodeInImage(
      `const hits = fs.readdirSync('.', { recursive: true })
         .filter((p) => !p.startsWith('node_modules') && /(\\.test|\\.fixtures|\\.contract)\\.ts$|testing\\.ts$/.test(p));
       console.log(JSON.stringify(hits));`,
    );
    expect(JSON.parse(found)).toEqual([]);
  });

  it('reports healthy for a one-shot command: there is no service to probe', async () => {
    const out = await docker(
      'run',
      '--rm',
      '--entrypoint',
      'node',
      MQFED_IMAGE,
      'docker/healthcheck.js',
    );
    expect(out).toContain('nothing to probe');
  });
});

describe.skipIf(!haveDocker)('an auth container', () => {
  it('becomes healthy, and stops cleanly (exit 0) on docker stop', async () => {
    const auth = await startContainer('auth-alone', MQFED_IMAGE, 'auth');
    await waitUntilHealthy(auth);
    // No TLS flags: TLS anyway, from a local CA the service (uid 1000) made in /data/tls.
    expect(await docker('exec', auth, 'node', 'docker/healthcheck.js')).toContain(
      'https://127.0.0.1:8080/healthz',
    );
    const files = JSON.parse(
      await docker(
        'exec',
        auth,
        'node',
        '-e',
        `console.log(JSON.stringify(['ca.pem', 'ca-key.pem', 'auth-key.pem'].map((f) => {
           const s = fs.statSync('/data/tls/' + f); return [f, s.uid, (s.mode & 0o777).toString(8)]; })))`,
      ),
    );
    expect(files).toEqual([
      ['ca.pem', 1000, '644'],
      ['ca-key.pem', 1000, '600'],
      ['auth-key.pem', 1000, '600'],
    ]);
    await docker('stop', '--time', '10', auth);
    expect(await docker('inspect', '--format', '{{.State.ExitCode}}', auth)).toBe('0');
  });

  it('is probed on the port its --port flag gives, not the image default', async () => {
    const auth = await startContainer('auth-port', MQFED_IMAGE, 'auth', 'serve', '--port=9001');
    await waitUntilHealthy(auth);
    const probe = await docker('exec', auth, 'node', 'docker/healthcheck.js');
    expect(probe).toContain(':9001/healthz');
  });
});

describe.skipIf(!haveDocker)(
  'a federation on a user-defined network, as docker/compose.yaml runs it',
  () => {
    let publisher: MqttClient | undefined;
    let subscriber: MqttClient | undefined;

    afterAll(async () => {
      await publisher?.endAsync();
      await subscriber?.endAsync();
    });

    it('runs over TLS from one CA made before the services: delivers from b1 to b2, and refuses a client that does not trust that CA', async () => {
      const network = `${prefix}-net`;
      const secrets = `${prefix}-secrets`;
      const tlsCa = `${prefix}-tls-ca`;
      const tls = `${prefix}-tls`;
      created.networks.push(network);
      await docker('network', 'create', network);
      for (const volume of [secrets, tlsCa, tls]) {
        created.volumes.push(volume);
        await docker('volume', 'create', volume);
      }
      const onNetwork = (alias: string) => ['--network', network, '--network-alias', alias];
      // As compose's one-shot `tls`: the CA (its key in a volume no service mounts) and a
      // certificate per service, named for its host name on the network.
      const issue = `${prefix}-tls-issue`;
      created.containers.push(issue);
      await docker(
        'run',
        '--name',
        issue,
        '--volume',
        `${tlsCa}:/data/ca`,
        '--volume',
        `${tls}:/data/tls`,
        MQFED_IMAGE,
        ...['tls', 'issue', '--dir', '/data/ca', '--out', '/data/tls', 'auth', 'discovery'],
        ...['b1', 'b2'],
      );
      /** A service's TLS files, from the read-only certificates volume. */
      const tlsOf = (name: string) => [
        '--volume',
        `${tls}:/data/tls:ro`,
        '--env',
        'MQFED_TLS_CA=/data/tls/ca.pem',
        '--env',
        `MQFED_TLS_CERT=/data/tls/${name}.pem`,
        '--env',
        `MQFED_TLS_KEY=/data/tls/${name}-key.pem`,
      ];
      const authEnv = ['--env', 'MQFED_AUTH_URL=https://auth:8080'];

      const auth = await startContainer(
        'auth',
        ...onNetwork('auth'),
        '--health-interval',
        '1s',
        '--env',
        `MQFED_ADMIN_CREDENTIAL=${ADMIN_CREDENTIAL}`,
        ...tlsOf('auth'),
        MQFED_IMAGE,
        'auth',
      );
      await waitUntilHealthy(auth);
      const discovery = await startContainer(
        'discovery',
        ...onNetwork('discovery'),
        '--health-interval',
        '1s',
        ...authEnv,
        ...tlsOf('discovery'),
        MQFED_IMAGE,
        'discovery',
      );
      const register = `${prefix}-register`;
      created.containers.push(register);
      await docker(
        'run',
        '--name',
        register,
        '--network',
        network,
        '--volume',
        `${secrets}:/data/secrets`,
        ...authEnv,
        // It needs only the CA: it is a client of auth.
        '--volume',
        `${tls}:/data/tls:ro`,
        '--env',
        'MQFED_TLS_CA=/data/tls/ca.pem',
        '--env',
        `MQFED_ADMIN_CREDENTIAL=${ADMIN_CREDENTIAL}`,
        '--entrypoint',
        'node',
        MQFED_IMAGE,
        'docker/register-brokers.ts',
        'b1',
        'b2',
      );
      await waitUntilHealthy(discovery);

      const brokers = await Promise.all(
        ['b1', 'b2'].map((id) =>
          startContainer(
            id,
            ...onNetwork(id),
            // Probe every second: the default 5 s only makes this test slower.
            '--health-interval',
            '1s',
            '--volume',
            `${secrets}:/data/secrets:ro`,
            '--publish',
            '127.0.0.1::8883',
            ...authEnv,
            ...tlsOf(id),
            '--env',
            'MQFED_DISCOVERY_URL=https://discovery:8080',
            '--env',
            `MQFED_BROKER_ID=${id}`,
            '--env',
            `MQFED_BROKER_SECRET_FILE=/data/secrets/${id}.secret`,
            '--env',
            `MQFED_ADVERTISED_HOST=${id}`,
            // Published on loopback only; the test's clients connect without credentials.
            '--env',
            'MQFED_ALLOW_ANONYMOUS=true',
            MQFED_IMAGE,
            'broker',
          ),
        ),
      );
      const mqttsPorts: number[] = [];
      for (const broker of brokers) {
        await waitUntilHealthy(broker);
        const mapped = await docker('port', broker, '8883/tcp');
        mqttsPorts.push(Number(mapped.split('\n')[0]!.split(':').pop()));
      }
      // The CA out of a container, as docs/containers.md tells clients on this machine to get it.
      await using dir = await tempDir('mqfed-docker-ca-');
      const caPath = join(dir.path, 'ca.pem');
      await docker('cp', `${auth}:/data/tls/ca.pem`, caPath);
      const ca = await readFile(caPath, 'utf8');

      // Without the CA, a client on this machine is refused: nothing vouches for the broker.
      await expect(
        connectAsync(`mqtts://localhost:${mqttsPorts[1]}`, { reconnectPeriod: 0 }),
      ).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SIGNED|ISSUER/) });
      const trusting = { reconnectPeriod: 0, ca };
      subscriber = await connectAsync(`mqtts://localhost:${mqttsPorts[1]}`, trusting);
      const received = new Promise<string>((resolve) => {
        subscriber!.on('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`));
      });
      await subscriber.subscribeAsync('fed/#', { qos: 0 });
      publisher = await connectAsync(`mqtts://localhost:${mqttsPorts[0]}`, trusting);
      // The subscription reaches b1 through discovery a moment later; publish until it arrives.
      let delivered: string | undefined;
      void received.then((message) => {
        delivered = message;
      });
      const deadline = Date.now() + 30_000;
      while (delivered === undefined && Date.now() < deadline) {
        await publisher.publishAsync('fed/greeting', 'hello from b1');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(delivered).toBe('fed/greeting hello from b1');
    });
  },
);
