import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../system/common/testing.ts';
import { buildImage } from './build-image.ts';
import { MQFED_IMAGE } from './image-name.ts';
import { haveSwarm } from './swarm.fixtures.ts';

// docker/stack.yaml deployed as an operator would (docs/containers.md, "Multi-node: Docker
// Swarm"): secrets from docker/stack-secrets.sh, `docker stack deploy`, mosquitto clients over
// TLS on the published ports. Everything carries this run's stack name and is removed in
// afterAll, whatever failed: the stack, its volumes, its secrets, the operator folder.
const execFileAsync = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const stack = `mqfed-stk-${randomBytes(3).toString('hex')}`;
const services = ['auth', 'discovery', 'b1', 'b2', 'b3'];
const volumes = ['auth-data', 'b1-data', 'b2-data', 'b3-data'].map((name) => `${stack}_${name}`);

async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd: repo,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
    });
    return stdout.trim();
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || stdout || String(error)}`);
  }
}
const docker = (...args: string[]) => run('docker', args);

/** Ports free on every address now (host-mode ports bind 0.0.0.0); the engine takes them next. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer().listen(0, '0.0.0.0');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** The stack's containers that are running and healthy, by service name. */
async function healthyServices(): Promise<string[]> {
  const names = await docker(
    'ps',
    '--filter',
    `label=com.docker.stack.namespace=${stack}`,
    '--filter',
    'health=healthy',
    '--format',
    '{{.Label "com.docker.swarm.service.name"}}',
  );
  return names.split('\n').filter((name) => name !== '');
}

let dir: TempDir;
let out: string;
let ports: Record<'auth' | 'b1' | 'b2' | 'b3', number>;
let deployed = false;

/**
 * mosquitto_pub and mosquitto_sub read their default options from
 * `$XDG_CONFIG_HOME/mosquitto_pub` (and `_sub`): the client's password stays off the command
 * line, as docs/containers.md shows.
 */
async function clientConfig(withCredentials: boolean): Promise<Record<string, string>> {
  const home = join(dir.path, withCredentials ? 'client-demo' : 'client-anonymous');
  await run('mkdir', ['-p', '-m', '700', home]);
  const lines = [`--cafile ${join(out, 'ca.pem')}`];
  if (withCredentials) {
    lines.push('-u demo', `-P ${(await readFile(join(out, 'demo.secret'), 'utf8')).trim()}`);
  }
  for (const tool of ['mosquitto_pub', 'mosquitto_sub']) {
    await writeFile(join(home, tool), `${lines.join('\n')}\n`, { mode: 0o600 });
  }
  return { XDG_CONFIG_HOME: home };
}

/**
 * A subscriber on `subPort` waits for one message on demo/#; a publisher on `pubPort` sends one
 * a second until it arrives (the first ones may precede the subscription's announcement).
 */
async function deliverAcross(pubPort: number, subPort: number, text: string): Promise<string> {
  const env = await clientConfig(true);
  const subscriber: ChildProcess = spawn(
    'mosquitto_sub',
    ['-h', 'localhost', '-p', String(subPort), '-t', 'demo/#', '-v', '-C', '1', '-W', '90'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let received = '';
  subscriber.stdout?.on('data', (chunk) => {
    received += String(chunk);
  });
  subscriber.stderr?.on('data', (chunk) => {
    received += String(chunk);
  });
  const exited = once(subscriber, 'exit') as Promise<[number | null]>;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  try {
    for (let attempt = 0; !done && attempt < 60; attempt += 1) {
      await run(
        'mosquitto_pub',
        ['-h', 'localhost', '-p', String(pubPort), '-t', 'demo/stack', '-m', text],
        env,
      );
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    }
    const [code] = await exited;
    expect(code, received).toBe(0);
    return received.trim();
  } finally {
    subscriber.kill();
  }
}

describe.skipIf(!haveSwarm)('docker/stack.yaml deployed on a swarm', () => {
  beforeAll(async () => {
    dir = await tempDir('mqfed-stack-');
    out = join(dir.path, 'operator');
    await buildImage();
    const [auth, b1, b2, b3] = await freePorts(4);
    ports = { auth: auth!, b1: b1!, b2: b2!, b3: b3! };
    await run('bash', ['docker/stack-secrets.sh', 'create', stack, '--out', out]);
    deployed = true;
    await run('docker', ['stack', 'deploy', '--detach=true', '-c', 'docker/stack.yaml', stack], {
      MQFED_STACK: stack,
      MQFED_IMAGE,
      MQFED_AUTH_HOST_PORT: String(ports.auth),
      MQFED_B1_MQTTS_PORT: String(ports.b1),
      MQFED_B2_MQTTS_PORT: String(ports.b2),
      MQFED_B3_MQTTS_PORT: String(ports.b3),
    });
    // No start order in a stack: brokers that start before auth exit and are started again.
    await until('every service of the stack healthy', 240_000, async () => {
      const healthy = await healthyServices();
      return services.every((name) => healthy.includes(`${stack}_${name}`)) ? true : undefined;
    });
  }, 600_000);

  afterAll(async () => {
    const failures: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
      }
    };
    if (deployed) {
      await attempt('stack rm', () => docker('stack', 'rm', stack));
      // `stack rm` returns before the containers are gone; volumes and secrets wait for them.
      await attempt('containers gone', () =>
        until('the stack containers to be removed', 120_000, async () =>
          (await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack}`)) ===
          ''
            ? true
            : undefined,
        ),
      );
      await attempt('networks gone', () =>
        until('the stack network to be removed', 60_000, async () =>
          (await docker('network', 'ls', '-q', '--filter', `name=${stack}_`)) === ''
            ? true
            : undefined,
        ),
      );
      for (const volume of volumes) {
        await attempt(`volume rm ${volume}`, async () => {
          if ((await docker('volume', 'ls', '-q', '--filter', `name=^${volume}$`)) !== '') {
            await docker('volume', 'rm', volume);
          }
        });
      }
      await attempt('secrets rm', () => run('bash', ['docker/stack-secrets.sh', 'rm', stack]));
    }
    await dir?.[Symbol.asyncDispose]();
    if (failures.length > 0) throw new Error(`cleanup of ${stack}: ${failures.join('; ')}`);
  }, 300_000);

  it('runs every service healthy, with a secret per service and nothing secret in its env', async () => {
    const names = (
      await docker(
        'secret',
        'ls',
        '--filter',
        `label=mqfed.stack=${stack}`,
        '--format',
        '{{.Name}}',
      )
    )
      .split('\n')
      .sort();
    expect(names).toEqual(
      [
        'admin-credential',
        'b1-secret',
        'b2-secret',
        'b3-secret',
        'demo-secret',
        'ca-pem',
        ...services.flatMap((name) => [`${name}-pem`, `${name}-key-pem`]),
      ]
        .map((name) => `${stack}-${name}`)
        .sort(),
    );
    // Made once: a second create refuses rather than replace what the stack uses.
    const again = await run('bash', [
      'docker/stack-secrets.sh',
      'create',
      stack,
      '--out',
      out,
    ]).then(
      () => 'made again',
      (error: Error) => error.message,
    );
    expect(again).toMatch(/secrets for mqfed-stk-\w+ exist already/);
    // The CA key stays in the operator's folder: no secret holds it.
    const ca = await readFile(join(out, 'ca', 'ca-key.pem'), 'utf8');
    expect(ca).toMatch(/PRIVATE KEY/);
    const env = await docker(
      'service',
      'inspect',
      `${stack}_auth`,
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
    );
    const admin = (await readFile(join(out, 'admin-credential'), 'utf8')).trim();
    expect(env).toContain('MQFED_ADMIN_CREDENTIAL_FILE=/run/secrets/admin-credential');
    expect(env).not.toContain(admin);
  });

  it('delivers a publish on b1 to a subscriber on b3 over TLS, for the provisioned client demo', async () => {
    expect(await deliverAcross(ports.b1, ports.b3, 'from b1')).toBe('demo/stack from b1');
  });

  it('refuses an anonymous client on a published port', async () => {
    const env = await clientConfig(false);
    const refused = await run(
      'mosquitto_pub',
      ['-h', 'localhost', '-p', String(ports.b2), '-t', 'demo/x', '-m', 'anonymous'],
      env,
    ).then(
      () => 'accepted',
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/not authori[sz]ed/i);
  });

  it('keeps working after auth restarts: the manifest changes nothing the second time', async () => {
    await docker('service', 'update', '--force', '--detach=false', `${stack}_auth`);
    // The services log on stderr, which `docker service logs` passes on as its own stderr.
    const { stdout, stderr } = await execFileAsync(
      'docker',
      ['service', 'logs', '--raw', `${stack}_auth`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const logs = `${stdout}\n${stderr}`;
    const applied = logs
      .split('\n')
      .filter((line) => line.includes('provisioning manifest applied'))
      .map((line) => JSON.parse(line) as { registered: string[]; unchanged: string[] });
    // Logs of the old and the new task: the first start registered, the restart changed nothing.
    expect(applied).toContainEqual(
      expect.objectContaining({ registered: ['b1', 'b2', 'b3', 'demo'], unchanged: [] }),
    );
    expect(applied).toContainEqual(
      expect.objectContaining({ registered: [], unchanged: ['b1', 'b2', 'b3', 'demo'] }),
    );
    expect(await deliverAcross(ports.b3, ports.b2, 'after restart')).toBe(
      'demo/stack after restart',
    );
  });
});
