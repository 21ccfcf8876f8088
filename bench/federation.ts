import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ProcessGroup } from './processes.ts';

const MQFED = fileURLToPath(new URL('../bin/mqfed.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./tcp-relay.ts', import.meta.url));

/** Where each part of the system under test listens. */
export interface Federation {
  authUrl: string;
  discoveryUrl: string;
  /** Broker A: the publisher's broker; it declares `bench/#` so B can link before any publish. */
  a: BrokerUrls;
  /** Broker B: the cross-broker subscriber's broker. */
  b: BrokerUrls;
  /** `mqtt://...` of the TCP relay in front of A's MQTT port. */
  relayMqttUrl: string;
}

export interface BrokerUrls {
  id: string;
  mqttUrl: string;
  httpUrl: string;
}

/**
 * Starts the system under test, each part in its own process: auth, discovery, brokers A and B,
 * and the relay. `brokerNodeArgs` go to the brokers' Node (e.g. `--cpu-prof`). Every port is 0 and every URL is read from what the process prints. Secrets go
 * through the environment, so they never show in `ps`. [design] Only A declares topics: B then
 * links to A when its client subscribes, and A, which declares nothing of B's, never links back
 * to B for the subscriptions of the same-broker runs, which would make A forward to B for nothing.
 */
export async function startFederation(
  group: ProcessGroup,
  dataDir: string,
  options: { brokerNodeArgs?: string[] } = {},
): Promise<Federation> {
  const admin = { MQFED_ADMIN_CREDENTIAL: randomBytes(24).toString('base64url') };
  const auth = await group.start({
    name: 'auth',
    args: [MQFED, 'auth', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
    ready: /^auth (\S+) jwks \S+/,
    env: admin,
  });
  const authUrl = auth.match[1]!;

  const register = async (id: string) => {
    const printed = await group.run({
      name: `register ${id}`,
      args: [MQFED, 'auth', 'register', '--url', authUrl, '--role', 'broker', '--id', id].concat([
        '--pub',
        '#',
        '--sub',
        '#',
      ]),
      env: admin,
    });
    return (JSON.parse(printed) as { secret: string }).secret;
  };
  const [secretA, secretB] = await Promise.all([register('bench-a'), register('bench-b')]);

  const discovery = await group.start({
    name: 'discovery',
    args: [MQFED, 'discovery', '--auth-url', authUrl, '--port', '0', '--log-level', 'warn'],
    ready: /^discovery (\S+) watch \S+/,
  });
  const discoveryUrl = discovery.match[1]!;

  const broker = async (name: string, id: string, secret: string, extra: string[]) => {
    const started = await group.start({
      name,
      args: [...(options.brokerNodeArgs ?? []), MQFED, 'broker', '--id', id]
        .concat(['--auth-url', authUrl, '--discovery-url', discoveryUrl])
        .concat(['--mqtt-port', '0', '--http-port', '0', '--log-level', 'warn'])
        .concat(extra),
      ready: /^broker (\S+) mqtt (\S+) (?:mqtt-ws \S+ )?http (\S+) link \S+/,
      env: { MQFED_BROKER_SECRET: secret },
    });
    const [, brokerId, mqttUrl, httpUrl] = started.match;
    return { id: brokerId!, mqttUrl: mqttUrl!, httpUrl: httpUrl! };
  };
  const [a, b] = await Promise.all([
    broker('broker-a', 'bench-a', secretA, ['--declare', 'bench/#']),
    broker('broker-b', 'bench-b', secretB, []),
  ]);

  const target = new URL(a.mqttUrl);
  const relay = await group.start({
    name: 'relay',
    args: [RELAY, '--target', `${target.hostname}:${target.port}`, '--port', '0'].concat([
      '--exit-with-stdin',
    ]),
    ready: /^relay (\S+)/,
  });
  return { authUrl, discoveryUrl, a, b, relayMqttUrl: relay.match[1]! };
}
