import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import mqtt, { type ErrorWithReasonCode } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../auth/index.ts';
import { createDiscoveryClient, discoveryServiceDefaults } from '../discovery/index.ts';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

const run = promisify(execFile);

/** Reads lines until `ready`; the lines before it are the services' URL lines. */
async function linesUntilReady(child: { nextLine(): Promise<string> }): Promise<string[]> {
  const lines: string[] = [];
  for (let line = await child.nextLine(); line !== 'ready'; line = await child.nextLine()) {
    lines.push(line);
  }
  return lines;
}

async function healthOf(url: string): Promise<unknown> {
  return (await fetch(`${url}/healthz`)).json();
}

const brokerLine =
  /^broker (b\d+) mqtt mqtt:\/\/127\.0\.0\.1:(\d+) http (http:\/\/127\.0\.0\.1:\d+) link (ws:\/\/127\.0\.0\.1:\d+\/peer)$/;

function brokersOf(lines: string[]) {
  return lines.flatMap((line) => {
    const match = brokerLine.exec(line);
    return match === null
      ? []
      : [{ id: match[1]!, mqttPort: Number(match[2]), url: match[3]!, linkUrl: match[4]! }];
  });
}

/**
 * `mqfed up` with two brokers on free ports and `env`: runs `check` on each broker in turn, then
 * expects a clean stop.
 */
async function onEachBrokerOfUp(
  env: Record<string, string>,
  check: (broker: ReturnType<typeof brokersOf>[number]) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir('mqfed-cli-up-');
  await using child = spawnMqfed(
    ['up', '--data-dir', dir.path, '--brokers', '2', '--mqtt-port', '0'],
    env,
  );
  const brokers = brokersOf(await linesUntilReady(child));
  expect(brokers).toHaveLength(2);
  for (const broker of brokers) await check(broker);
  expect(await child.stop()).toEqual({ code: 0, signal: null });
}

/**
 * A discovery client with a token of a `discovery` reader, registered with the admin credential
 * `mqfed up` printed the file of.
 */
async function readerOf(lines: string[]) {
  const authUrl = /^auth (\S+) /.exec(lines.find((line) => line.startsWith('auth ')) ?? '')?.[1];
  const credentialPath = /^admin credential in (\S+)$/.exec(
    lines.find((line) => line.startsWith('admin credential ')) ?? '',
  )?.[1];
  const discoveryUrl = /^discovery (\S+) /.exec(
    lines.find((line) => line.startsWith('discovery ')) ?? '',
  )?.[1];
  if (authUrl === undefined || credentialPath === undefined || discoveryUrl === undefined) {
    throw new Error(`no auth, admin credential or discovery line in:\n${lines.join('\n')}`);
  }
  const admin = (await readFile(credentialPath, 'utf8')).trim();
  const auth = createAuthClient({ url: authUrl });
  const credentials = await auth.registerService(admin, {
    role: 'discovery',
    topics: { pub: [], sub: [] },
  });
  const { token } = await auth.issueToken(credentials, 'discovery');
  return createDiscoveryClient({ url: discoveryUrl, token: async () => token });
}

describe('mqfed up starts a local federation', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'prints each service with its URLs, then ready, and stops cleanly on %s',
    async (signal) => {
      await using dir = await tempDir('mqfed-cli-up-');
      await using child = spawnMqfed(['up', '--data-dir', dir.path, '--mqtt-port', '0']);
      const lines = await linesUntilReady(child);

      const auth = lines.find((line) => line.startsWith('auth '));
      const authMatch = /^auth (http:\/\/127\.0\.0\.1:\d+) jwks (\S+)$/.exec(auth ?? '');
      expect(authMatch, lines.join('\n')).not.toBeNull();
      expect(authMatch![2]).toBe(`${authMatch![1]}/.well-known/jwks.json`);

      const discovery = lines.find((line) => line.startsWith('discovery '));
      const discoveryMatch = /^discovery (http:\/\/127\.0\.0\.1:(\d+)) watch (\S+)$/.exec(
        discovery ?? '',
      );
      expect(discoveryMatch, lines.join('\n')).not.toBeNull();
      expect(discoveryMatch![3]).toBe(`ws://127.0.0.1:${discoveryMatch![2]}/watch`);

      const brokers = brokersOf(lines);
      expect(brokers.map((broker) => broker.id)).toEqual(['b1', 'b2', 'b3']);
      for (const url of [authMatch![1]!, discoveryMatch![1]!, ...brokers.map((b) => b.url)]) {
        expect(await healthOf(url)).toEqual({ status: 'ok' });
      }
      expect(await child.stop(signal)).toEqual({ code: 0, signal: null });
    },
  );

  it('starts N brokers with MQTT on consecutive ports from --mqtt-port', async () => {
    await using dir = await tempDir('mqfed-cli-up-');
    // A high port range that tests elsewhere do not use; port 0 cannot show consecutiveness.
    const first = 20_000 + Math.floor(Math.random() * 20_000);
    await using child = spawnMqfed([
      'up',
      '--data-dir',
      dir.path,
      '--brokers',
      '2',
      '--mqtt-port',
      String(first),
    ]);
    const brokers = brokersOf(await linesUntilReady(child));
    expect(brokers.map((broker) => broker.mqttPort)).toEqual([first, first + 1]);
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it('applies the per-client limits of mqfed broker to every broker it starts', async () => {
    await onEachBrokerOfUp({ MQFED_MAX_SUBSCRIPTIONS: '1' }, async (broker) => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, {
        reconnectPeriod: 0,
      });
      try {
        // The second filter is over the limit: refused in its SUBACK (0x80), the first granted.
        await expect(
          client.subscribeAsync(['limits/one', 'limits/two']),
          broker.id,
        ).rejects.toMatchObject({ packet: { granted: [0, 128] } });
      } finally {
        await client.endAsync(true);
      }
    });
  });

  it('applies --max-clients (MQFED_MAX_CLIENTS) to every broker: one more client gets CONNACK 3', async () => {
    await onEachBrokerOfUp({ MQFED_MAX_CLIENTS: '1' }, async (broker) => {
      const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
      const options = { reconnectPeriod: 0, connectTimeout: 5_000 };
      const first = await mqtt.connectAsync(url, { ...options, clientId: `first-${broker.id}` });
      try {
        const refused = await mqtt
          .connectAsync(url, { ...options, clientId: `second-${broker.id}` })
          .then(
            async (second) => {
              await second.endAsync(true);
              return undefined;
            },
            (error: ErrorWithReasonCode) => error.code,
          );
        expect(refused, broker.id).toBe(3);
      } finally {
        await first.endAsync(true);
      }
    });
  });

  it('makes every broker advertise the --declare filters, and fold interest past --max-advertised-filters', async () => {
    await using dir = await tempDir('mqfed-cli-up-');
    await using child = spawnMqfed(
      [
        ...['up', '--data-dir', dir.path, '--brokers', '2', '--mqtt-port', '0'],
        ...['--declare', 'sensors/#,alerts/+', '--declare', 'cmd/#'],
        ...['--max-advertised-filters', '2'],
      ],
      { MQFED_LOG_LEVEL: 'error' },
    );
    const lines = await linesUntilReady(child);
    const brokers = brokersOf(lines);
    const reader = await readerOf(lines);
    // Both repeats count, and nobody has published yet.
    const records = await reader.lookup();
    expect(records.map((record) => [record.id, record.topics])).toEqual([
      ['b1', ['alerts/+', 'cmd/#', 'sensors/#']],
      ['b2', ['alerts/+', 'cmd/#', 'sensors/#']],
    ]);

    // Three filters on b2, over its cap of two: discovery learns one filter covering them.
    const interest: string[][] = [];
    const changed = new Set<() => void>();
    await using _watch = await reader.watch(
      [],
      (event) => {
        // b2 enters the view with its first interest (joined), then changes it by deltas.
        if (event.type === 'joined' && event.broker.id === 'b2') {
          interest.push(event.broker.interest);
        }
        if (event.type === 'interest-added' && event.brokerId === 'b2') {
          interest.push(event.interest);
        }
        for (const wake of changed) wake();
        changed.clear();
      },
      { interestFilters: ['#'] },
    );
    const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokers[1]!.mqttPort}`, {
      reconnectPeriod: 0,
    });
    try {
      await subscriber.subscribeAsync(['s/1/x', 's/2/x', 's/3/x']);
      const b2Interest = async () =>
        (await reader.lookup()).find((record) => record.id === 'b2')?.interest;
      // Each interest event is a moment to look again (the waiter is set before the look, so no
      // event falls between); the folded set is the last word.
      for (;;) {
        const next = new Promise<void>((resolve) => changed.add(resolve));
        if ((await b2Interest())?.join() === 's/#') break;
        await next;
      }
      // Never advertised as itself: the third filter would have gone over the cap.
      expect(interest.flat()).toContain('s/#');
      expect(interest.flat()).not.toContain('s/3/x');
      const metrics = await (await fetch(`${brokers[1]!.url}/metrics`)).text();
      expect(metrics).toMatch(/^mqfed_broker_interest_folded_filters\{[^}]*\} 3$/m);
    } finally {
      await subscriber.endAsync(true);
    }
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it.each([
    [['--brokers', '0'], '--brokers'],
    [['--publish-rate', '0'], '--publish-rate'],
    [['--max-clients', '0'], '--max-clients'],
    [['--declare', 'a/#/b'], '--declare'],
    [['--declare', 'ok/#', '--declare', 'bad+/x'], '--declare'],
    [['--max-advertised-filters', '0'], '--max-advertised-filters'],
    [
      ['--max-advertised-filters', String(discoveryServiceDefaults.maxInterestPerBroker + 1)],
      '--max-advertised-filters',
    ],
    [['--mqtt-port', 'x'], '--mqtt-port'],
    [['--mqtt-port', '65535', '--brokers', '3'], '--mqtt-port'],
    [['--log-level', 'loud'], '--log-level'],
    [['--bogus'], '--bogus'],
  ])('refuses %j with exit code 2 naming %s', async (args, flag) => {
    const result = await mqfed(['up', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(flag)]);
  });

  it.each([
    [{ MQFED_MAX_CLIENTS: 'many' }, 'MQFED_MAX_CLIENTS'],
    [{ MQFED_DECLARE: '#/a' }, 'MQFED_DECLARE'],
    [{ MQFED_MAX_ADVERTISED_FILTERS: '-1' }, 'MQFED_MAX_ADVERTISED_FILTERS'],
  ])('refuses %j with exit code 2 naming %s', async (env, variable) => {
    const result = await mqfed(['up'], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(variable)]);
  });
});

/**
 * Starts `mosquitto_sub <subArgs>` (which exits after its first message) and runs
 * `mosquitto_pub <pubArgs>` until it has that message or `withinMs` passed; answers its output.
 */
async function publishUntilReceived(
  subArgs: string[],
  pubArgs: string[],
  withinMs: number,
): Promise<string> {
  const sub = spawn('mosquitto_sub', subArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  sub.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(sub, 'exit');
  try {
    const deadline = Date.now() + withinMs;
    while (sub.exitCode === null && Date.now() < deadline) {
      await run('mosquitto_pub', pubArgs);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    await exited;
    return output;
  } finally {
    sub.kill();
  }
}

const haveMosquitto = await run('mosquitto_pub', ['--help']).then(
  () => true,
  (error: { code?: unknown }) => error.code !== 'ENOENT',
);
if (!haveMosquitto) {
  if (process.env.MQFED_REQUIRE_MOSQUITTO === '1') {
    throw new Error('mosquitto_pub is required here (MQFED_REQUIRE_MOSQUITTO=1) but missing');
  }
  console.warn('SKIPPED: interop with mosquitto clients (apt-get install mosquitto-clients)');
}

describe.skipIf(!haveMosquitto)('mqfed up serves any MQTT client', () => {
  it('mosquitto_pub on one broker reaches mosquitto_sub on another', async () => {
    await using dir = await tempDir('mqfed-cli-up-');
    await using child = spawnMqfed(['up', '--data-dir', dir.path, '--mqtt-port', '0']);
    const [b1, , b3] = brokersOf(await linesUntilReady(child));
    // The first publish makes b1 advertise a/b; b3 links to b1 within the discovery watch
    // delay, so publish until the subscriber has its message (it exits after one).
    const output = await publishUntilReceived(
      ['-h', '127.0.0.1', '-p', String(b3!.mqttPort), '-t', 'a/#', '-C', '1', '-v'],
      ['-h', '127.0.0.1', '-p', String(b1!.mqttPort), '-t', 'a/b', '-m', 'hi'],
      5_000,
    );
    expect(output).toBe('a/b hi\n');
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });
});

describe.skipIf(!haveMosquitto)('mqfed up is TLS by default', () => {
  it('prints https, wss and mqtts URLs and the CA file, which mosquitto_sub --cafile trusts', async () => {
    await using dir = await tempDir('mqfed-cli-up-tls-');
    await using child = spawnMqfed(
      ['up', '--data-dir', dir.path, '--brokers', '2', '--mqtt-port', '0', '--mqtts-port', '0'],
      { MQFED_INSECURE: undefined },
    );
    const lines = await linesUntilReady(child);
    expect(lines.find((line) => line.startsWith('auth '))).toMatch(/^auth https:\/\//);
    expect(lines.find((line) => line.startsWith('discovery '))).toMatch(/ watch wss:\/\//);
    const brokers = lines.flatMap((line) => {
      const match =
        /^broker (\S+) mqtt mqtt:\/\/127\.0\.0\.1:(\d+) mqtts mqtts:\/\/\S+:(\d+) http https:\S+ link wss:\S+$/.exec(
          line,
        );
      return match === null ? [] : [{ mqttPort: match[2]!, mqttsPort: match[3]! }];
    });
    expect(brokers, lines.join('\n')).toHaveLength(2);
    const caLine = lines.find((line) => line.startsWith('tls ca '));
    expect(caLine).toContain(`${dir.path}/tls/ca.pem`);

    // The plain port stays for tools on this machine: the README's mosquitto_pub works as is.
    const output = await publishUntilReceived(
      [
        ...['-h', 'localhost', '-p', brokers[1]!.mqttsPort, '--cafile', `${dir.path}/tls/ca.pem`],
        ...['-t', 'a/#', '-C', '1', '-v'],
      ],
      ['-h', '127.0.0.1', '-p', brokers[0]!.mqttPort, '-t', 'a/b', '-m', 'hi'],
      10_000,
    );
    expect(output).toBe('a/b hi\n');
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });
});
