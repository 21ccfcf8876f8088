import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
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
    await using dir = await tempDir('mqfed-cli-up-');
    await using child = spawnMqfed(
      ['up', '--data-dir', dir.path, '--brokers', '2', '--mqtt-port', '0'],
      { MQFED_MAX_SUBSCRIPTIONS: '1' },
    );
    const brokers = brokersOf(await linesUntilReady(child));
    expect(brokers).toHaveLength(2);
    for (const broker of brokers) {
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
    }
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it.each([
    [['--brokers', '0'], '--brokers'],
    [['--publish-rate', '0'], '--publish-rate'],
    [['--mqtt-port', 'x'], '--mqtt-port'],
    [['--mqtt-port', '65535', '--brokers', '3'], '--mqtt-port'],
    [['--log-level', 'loud'], '--log-level'],
    [['--bogus'], '--bogus'],
  ])('refuses %j with exit code 2 naming %s', async (args, flag) => {
    const result = await mqfed(['up', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(flag)]);
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
