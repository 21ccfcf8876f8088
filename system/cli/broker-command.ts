import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { type BrokerService, brokerServiceDefaults, startBrokerService } from '../broker/index.ts';
import type { LogLevel } from '../common/index.ts';
import { type AdvertiseFlags, addAdvertiseOptions, advertiseOptionsOf } from './advertise-flags.ts';
import {
  addMqttClientOptions,
  type MqttClientFlags,
  mqttClientOptionsOf,
} from './mqtt-client-flags.ts';
import {
  parseDuration,
  parseHttpUrl,
  parseLogLevel,
  parsePeerRoutes,
  parsePort,
  parsePositiveInt,
} from './parsers.ts';
import { addRetainedOptions, type RetainedFlags, retainedOptionsOf } from './retained-flags.ts';
import { refuseSecretOnCommandLine } from './secret-flags.ts';
import { exitWithStdinOption, serveUntilSignal } from './serve-until-signal.ts';
import { addTlsOptions, type TlsFlags, tlsFromFlags } from './tls-flags.ts';

interface BrokerFlags extends TlsFlags, MqttClientFlags, RetainedFlags, AdvertiseFlags {
  id: string;
  secret?: string;
  secretFile?: string;
  authUrl: string;
  discoveryUrl: string;
  host: string;
  advertisedHost?: string;
  mqttPort: number;
  mqttsPort: number;
  mqttWsPort?: number;
  httpPort: number;
  issuer: string;
  audience: string;
  leaseTtl: number;
  maxPayload: number;
  linkIdleGrace: number;
  peerRoute: Record<string, string>;
  dataDir?: string;
  outboxMaxBytes: number;
  outboxMaxAge: number;
  maxPeerFilters: number;
  maxPeerFilterBytes: number;
  peerVerifyDeadline: number;
  sessionRelay: number;
  logLevel: LogLevel;
  exitWithStdin: boolean;
}

/** The line `mqfed broker` and `mqfed up` print for a started broker service. */
export function brokerLine(broker: BrokerService): string {
  const ws = broker.mqttWsUrl === undefined ? '' : ` mqtt-ws ${broker.mqttWsUrl}`;
  const mqtts = broker.mqttsUrl === undefined ? '' : ` mqtts ${broker.mqttsUrl}`;
  return `broker ${broker.id} mqtt ${broker.mqttUrl}${mqtts}${ws} http ${broker.url} link ${broker.linkUrl}\n`;
}

/** `mqfed broker`: one broker service against a running auth and discovery service. */
export function registerBrokerCommand(program: Command): void {
  addAdvertiseOptions(
    addRetainedOptions(addMqttClientOptions(addTlsOptions(program.command('broker')))),
  )
    .description('Run one broker service until SIGINT or SIGTERM')
    .addOption(
      new Option('--id <id>', 'the service id registered with the auth service')
        .env('MQFED_BROKER_ID')
        .makeOptionMandatory(),
    )
    .addOption(
      // Only the environment variable sets it: see secret-flags.ts.
      new Option('--secret <secret>').env('MQFED_BROKER_SECRET').hideHelp(),
    )
    .addOption(
      new Option(
        '--secret-file <path>',
        'read the secret from this file (or give it in env MQFED_BROKER_SECRET)',
      ).env('MQFED_BROKER_SECRET_FILE'),
    )
    .addOption(
      new Option('--auth-url <url>', 'base URL of the authentication service')
        .env('MQFED_AUTH_URL')
        .argParser(parseHttpUrl)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--discovery-url <url>', 'base URL of the discovery service')
        .env('MQFED_DISCOVERY_URL')
        .argParser(parseHttpUrl)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--host <host>', 'address every listener binds to')
        .env('MQFED_HOST')
        .default(brokerServiceDefaults.host),
    )
    .addOption(
      new Option('--advertised-host <host>', 'host name peers dial (default: --host)').env(
        'MQFED_ADVERTISED_HOST',
      ),
    )
    .addOption(
      new Option(
        '--mqtt-port <port>',
        'plain MQTT over TCP (0 picks a free one); loopback only unless --insecure',
      )
        .env('MQFED_MQTT_PORT')
        .argParser(parsePort)
        .default(1883),
    )
    .addOption(
      new Option('--mqtts-port <port>', 'MQTT over TLS (0 picks a free one)')
        .env('MQFED_MQTTS_PORT')
        .argParser(parsePort)
        .default(8883),
    )
    .addOption(
      new Option('--mqtt-ws-port <port>', 'MQTT over WebSocket at /mqtt (off by default)')
        .env('MQFED_MQTT_WS_PORT')
        .argParser(parsePort),
    )
    .addOption(
      new Option('--http-port <port>', 'health, metrics and the peer-link server')
        .env('MQFED_HTTP_PORT')
        .argParser(parsePort)
        .default(brokerServiceDefaults.httpPort),
    )
    .addOption(
      new Option('--issuer <name>', 'iss claim peer tokens must carry')
        .env('MQFED_ISSUER')
        .default(brokerServiceDefaults.issuer),
    )
    .addOption(
      new Option('--audience <name>', 'aud claim peer tokens must carry')
        .env('MQFED_AUDIENCE')
        .default(brokerServiceDefaults.audience),
    )
    .addOption(
      new Option('--lease-ttl <duration>', 'discovery lease, renewed at a third of it')
        .env('MQFED_LEASE_TTL')
        .argParser(parseDuration)
        .default(brokerServiceDefaults.leaseTtlMs, '15s'),
    )
    .addOption(
      new Option('--max-payload <bytes>', 'largest payload forwarded over peer links')
        .env('MQFED_MAX_PAYLOAD')
        .argParser(parsePositiveInt)
        .default(brokerServiceDefaults.maxPayloadBytes, '262144'),
    )
    .addOption(
      new Option('--link-idle-grace <duration>', 'an unused peer link closes after this')
        .env('MQFED_LINK_IDLE_GRACE')
        .argParser(parseDuration)
        .default(brokerServiceDefaults.linkIdleGraceMs, '5s'),
    )
    .addOption(
      new Option(
        '--peer-route <id=url>',
        'dial this peer at URL, not where it advertises (repeatable)',
      )
        .env('MQFED_PEER_ROUTES')
        .argParser(parsePeerRoutes)
        .default({}),
    )
    .addOption(
      new Option(
        '--data-dir <path>',
        'keep outboxes, delivery positions and MQTT sessions here, so a restart loses nothing',
      ).env('MQFED_DATA_DIR'),
    )
    .addOption(
      new Option('--outbox-max-bytes <bytes>', 'per peer; the oldest are dropped above it')
        .env('MQFED_OUTBOX_MAX_BYTES')
        .argParser(parsePositiveInt)
        .default(brokerServiceDefaults.outboxMaxBytes),
    )
    .addOption(
      new Option('--outbox-max-age <duration>', 'per peer; older unacknowledged ones are dropped')
        .env('MQFED_OUTBOX_MAX_AGE')
        .argParser(parseDuration)
        .default(brokerServiceDefaults.outboxMaxAgeMs),
    )
    .addOption(
      new Option('--max-peer-filters <n>', 'per link: filters a peer may hold subscribed here')
        .env('MQFED_MAX_PEER_FILTERS')
        .argParser(parsePositiveInt)
        .default(brokerServiceDefaults.maxPeerFilters),
    )
    .addOption(
      new Option('--max-peer-filter-bytes <n>', 'per link: total length of those filters')
        .env('MQFED_MAX_PEER_FILTER_BYTES')
        .argParser(parsePositiveInt)
        .default(brokerServiceDefaults.maxPeerFilterBytes),
    )
    .addOption(
      new Option(
        '--peer-verify-deadline <duration>',
        'a peer token not verified within this closes its link',
      )
        .env('MQFED_PEER_VERIFY_DEADLINE')
        .argParser(parseDuration)
        .default(brokerServiceDefaults.peerVerifyDeadlineMs, '15s'),
    )
    .addOption(
      new Option(
        '--session-relay <duration>',
        'after a persistent session moved away, pass on what still arrives for it this long',
      )
        .env('MQFED_SESSION_RELAY')
        .argParser(parseDuration)
        .default(brokerServiceDefaults.sessionRelayMs, '1s'),
    )
    .addOption(
      new Option('--log-level <level>', 'structured log level on stderr')
        .env('MQFED_LOG_LEVEL')
        .argParser(parseLogLevel)
        .default('info'),
    )
    .addOption(exitWithStdinOption())
    .action(async (flags: BrokerFlags, command: Command) => {
      refuseSecretOnCommandLine(command, {
        flag: '--secret',
        key: 'secret',
        alternatives: '--secret-file or MQFED_BROKER_SECRET',
      });
      const secret =
        flags.secret ??
        (flags.secretFile === undefined
          ? undefined
          : (await readFile(flags.secretFile, 'utf8')).trim());
      if (secret === undefined) {
        command.error("option '--secret-file <path>' (or env MQFED_BROKER_SECRET) is required", {
          exitCode: 2,
          code: 'mqfed.secret',
        });
      }
      const { tls } = await tlsFromFlags(flags, command, {
        name: `broker-${flags.id}`,
        hosts: [flags.host, flags.advertisedHost],
        logLevel: flags.logLevel,
      });
      const broker = await startBrokerService({
        ...(tls === undefined ? {} : { tls }),
        mqttsPort: flags.mqttsPort,
        id: flags.id,
        secret,
        authUrl: flags.authUrl,
        discoveryUrl: flags.discoveryUrl,
        host: flags.host,
        advertisedHost: flags.advertisedHost,
        mqttPort: flags.mqttPort,
        mqttWsPort: flags.mqttWsPort,
        httpPort: flags.httpPort,
        issuer: flags.issuer,
        audience: flags.audience,
        leaseTtlMs: flags.leaseTtl,
        maxPayloadBytes: flags.maxPayload,
        linkIdleGraceMs: flags.linkIdleGrace,
        peerRoutes: flags.peerRoute,
        dataDir: flags.dataDir,
        outboxMaxBytes: flags.outboxMaxBytes,
        outboxMaxAgeMs: flags.outboxMaxAge,
        maxPeerFilters: flags.maxPeerFilters,
        maxPeerFilterBytes: flags.maxPeerFilterBytes,
        peerVerifyDeadlineMs: flags.peerVerifyDeadline,
        sessionRelayMs: flags.sessionRelay,
        ...mqttClientOptionsOf(flags),
        ...retainedOptionsOf(flags),
        ...advertiseOptionsOf(flags),
        logLevel: flags.logLevel,
      });
      await serveUntilSignal(broker, () => process.stdout.write(brokerLine(broker)), flags);
    });
}
