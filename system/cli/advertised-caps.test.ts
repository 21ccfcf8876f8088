import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createAuthClient, startAuthService } from '../auth/index.ts';
import { createDiscoveryClient, type DiscoveryClient } from '../discovery/index.ts';
import type { MqfedError } from '../protocol/index.ts';
import { mqfed, type RunningMqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

/**
 * The caps on what one broker advertises, as flags: `mqfed discovery --max-topics-per-broker`
 * and `mqfed broker --max-advertised-filters`, which must be at most the former.
 */

const adminCredential = 'cli-caps-admin-credential';

/** An auth service here, and `mqfed discovery --max-topics-per-broker <cap>` as a process. */
async function startCappedDiscovery(cap: number) {
  const dir = await tempDir('mqfed-cli-caps-');
  const auth = await startAuthService({ dataDir: dir.path, adminCredential, logLevel: 'silent' });
  const authClient = createAuthClient({ url: auth.url });
  const child = spawnMqfed([
    ...['discovery', '--auth-url', auth.url, '--port', '0'],
    ...['--max-topics-per-broker', String(cap)],
  ]);
  const close = async () => {
    await child.stop();
    await auth.close();
    await dir[Symbol.asyncDispose]();
  };
  try {
    const line = await child.nextLine();
    const url = /^discovery (http:\/\/\S+) watch /.exec(line)?.[1];
    if (url === undefined) throw new Error(`not a discovery line: ${line}`);
    /** A discovery client holding a token of a service registered with `role`. */
    const clientAs = async (id: string | undefined, role: 'broker' | 'discovery') => {
      const credentials = await authClient.registerService(adminCredential, {
        ...(id === undefined ? {} : { id }),
        role,
        topics: role === 'broker' ? { pub: ['#'], sub: ['#'] } : { pub: [], sub: [] },
      });
      const { token } = await authClient.issueToken(credentials, 'discovery');
      return { client: createDiscoveryClient({ url, token: async () => token }), credentials };
    };
    return {
      auth,
      url,
      clientAs,
      /** `mqfed broker --id <id>` against both services, MQTT on a free port. */
      async startBroker(id: string, args: string[]): Promise<RunningMqfed> {
        const { credentials } = await clientAs(id, 'broker');
        return spawnMqfed(
          [
            ...['broker', '--id', id, '--auth-url', auth.url, '--discovery-url', url],
            ...['--mqtt-port', '0', ...args],
          ],
          { MQFED_BROKER_SECRET: credentials.secret },
        );
      },
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: MqfedError) => error.code,
  );

/**
 * Resolves once `holds()` is true, looking again after every watch event on discovery (the
 * waiter is set before each look, so no event falls between a look and the wait).
 */
async function untilSeen(reader: DiscoveryClient, holds: () => Promise<boolean>): Promise<void> {
  const waiters = new Set<() => void>();
  await using _watch = await reader.watch(
    ['#'],
    () => {
      for (const wake of waiters) wake();
      waiters.clear();
    },
    { interestFilters: ['#'] },
  );
  for (;;) {
    const next = new Promise<void>((resolve) => waiters.add(resolve));
    if (await holds()) return;
    await next;
  }
}

/** The MQTT URL in the line `mqfed broker` prints once it runs. */
async function mqttUrlOf(broker: RunningMqfed): Promise<{ mqttUrl: string; httpUrl: string }> {
  const line = await broker.nextLine();
  const match = /^broker \S+ mqtt (mqtt:\/\/\S+) http (http:\/\/\S+) /.exec(line);
  if (match === null) throw new Error(`not a broker line: ${line}`);
  return { mqttUrl: match[1]!, httpUrl: match[2]! };
}

describe('the per-broker advertisement caps as flags', () => {
  it('discovery with --max-topics-per-broker 8 refuses a ninth entry; a broker with --max-advertised-filters 8 folds its interest and registers', async () => {
    await using discovery = await startCappedDiscovery(8);
    const { client: raw } = await discovery.clientAs('raw', 'broker');
    const nine = Array.from({ length: 9 }, (_, i) => `t/${i}`);
    // The cap holds for topics and for interest, each counted on its own.
    expect(await codeOf(raw.register({ id: 'raw', linkUrl: 'ws://raw/peer', topics: nine }))).toBe(
      'TOPIC_LIMIT_EXCEEDED',
    );
    expect(
      await codeOf(raw.register({ id: 'raw', linkUrl: 'ws://raw/peer', interest: nine })),
    ).toBe('TOPIC_LIMIT_EXCEEDED');
    await raw.register({
      id: 'raw',
      linkUrl: 'ws://raw/peer',
      topics: nine.slice(1),
      interest: nine.slice(1),
    });
    const { client: reader } = await discovery.clientAs(undefined, 'discovery');
    expect(await reader.lookup()).toMatchObject([{ id: 'raw', topics: nine.slice(1).sort() }]);

    // A repeated --declare adds to the first.
    await using broker = await discovery.startBroker('edge', [
      ...['--max-advertised-filters', '8', '--declare', 'a/#,b/+', '--declare', 'c'],
    ]);
    const { mqttUrl, httpUrl } = await mqttUrlOf(broker);
    const edge = async () => (await reader.lookup()).find((record) => record.id === 'edge');
    expect(await edge()).toMatchObject({ topics: ['a/#', 'b/+', 'c'], interest: [] });

    const subscriber = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
    try {
      const filters = Array.from({ length: 12 }, (_, i) => `s/${i}/x`);
      await subscriber.subscribeAsync(filters);
      // Twelve filters do not fit eight: one broader filter stands for them all.
      await untilSeen(reader, async () => (await edge())?.interest.join() === 's/#');
      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^mqfed_broker_interest_folded_filters\{[^}]*\} 12$/m);
    } finally {
      await subscriber.endAsync(true);
    }
    expect(await broker.stop()).toEqual({ code: 0, signal: null });
  });

  it('a broker whose caps are above discovery’s fits under discovery’s once refused: its interest and its declared topics are advertised broader, and data reaches it', async () => {
    await using discovery = await startCappedDiscovery(8);
    const { client: reader } = await discovery.clientAs(undefined, 'discovery');
    const record = async (id: string) => (await reader.lookup()).find((each) => each.id === id);
    // Ten declared filters do not fit eight: the first registration is refused, the second is
    // coarsened and taken.
    const declared = Array.from({ length: 10 }, (_, i) => `d/${i}/x`).join(',');
    await using over = await discovery.startBroker('over', [
      ...['--max-advertised-filters', '16', '--declare', declared],
    ]);
    const { mqttUrl } = await mqttUrlOf(over);
    await untilSeen(reader, async () => (await record('over'))?.topics.join() === 'd/#');

    await using publishing = await discovery.startBroker('pub', []);
    const { mqttUrl: publishUrl } = await mqttUrlOf(publishing);
    const subscriber = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
    const publisher = await mqtt.connectAsync(publishUrl, { reconnectPeriod: 0 });
    try {
      // Twelve fit the broker's own cap of 16 but not discovery's 8: refused once, then folded.
      await subscriber.subscribeAsync(
        Array.from({ length: 12 }, (_, i) => `s/${i}/x`),
        { qos: 1 },
      );
      await untilSeen(reader, async () => (await record('over'))?.interest.join() === 's/#');
      const received = new Promise<string>((resolve) =>
        subscriber.on('message', (topic, payload) => resolve(`${topic} ${payload}`)),
      );
      // 'pub' learns of the interest through its watch, a moment after discovery took it: a
      // publish before that has no subscriber anywhere, so it is sent again until one arrives.
      const resend = setInterval(() => {
        publisher.publishAsync('s/3/x', 'across').catch(() => {});
      }, 250);
      try {
        await publisher.publishAsync('s/3/x', 'across', { qos: 1 });
        expect(await received).toBe('s/3/x across');
      } finally {
        clearInterval(resend);
      }
    } finally {
      await subscriber.endAsync(true);
      await publisher.endAsync(true);
    }
    const warnings = over
      .stderr()
      .split('\n')
      .filter((line) => line.includes('discovery takes fewer entries'));
    expect(warnings).toEqual([
      expect.stringMatching(/"code":"TOPIC_LIMIT_EXCEEDED".*"limit":"topics","max":8/),
      expect.stringMatching(/"code":"TOPIC_LIMIT_EXCEEDED".*"limit":"interest","max":8/),
    ]);
    expect(await over.stop()).toEqual({ code: 0, signal: null });
  });

  const brokerArgs = [
    ...['broker', '--id', 'b', '--auth-url', 'http://127.0.0.1:9'],
    ...['--discovery-url', 'http://127.0.0.1:9'],
  ];
  const secret = { MQFED_BROKER_SECRET: 's' };
  it.each([
    [[...brokerArgs, '--max-advertised-filters', '0'], secret, '--max-advertised-filters'],
    [brokerArgs, { ...secret, MQFED_MAX_ADVERTISED_FILTERS: 'x' }, 'MQFED_MAX_ADVERTISED_FILTERS'],
    [[...brokerArgs, '--declare', 'a/#', '--declare', 'b/#/c'], secret, '--declare'],
    [
      ['discovery', '--auth-url', 'http://127.0.0.1:9', '--max-topics-per-broker', '0'],
      {},
      '--max-topics-per-broker',
    ],
    [
      ['discovery', '--auth-url', 'http://127.0.0.1:9'],
      { MQFED_MAX_TOPICS_PER_BROKER: '1.5' },
      'MQFED_MAX_TOPICS_PER_BROKER',
    ],
  ])('%j %j exits 2 with one line naming %s', async (args, env, flag) => {
    const result = await mqfed(args, env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(flag)]);
  });
});
