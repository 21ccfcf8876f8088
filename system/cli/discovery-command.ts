import { type Command, InvalidArgumentError, Option } from 'commander';
import { JWKS_PATH } from '../auth/index.ts';
import type { LogLevel } from '../common/index.ts';
import { discoveryServiceDefaults, startDiscoveryService } from '../discovery/index.ts';
import {
  parseDuration,
  parseHttpUrl,
  parseLogLevel,
  parsePort,
  parsePositiveInt,
} from './parsers.ts';
import { exitWithStdinOption, serveUntilSignal } from './serve-until-signal.ts';
import { addTlsOptions, type TlsFlags, tlsFromFlags } from './tls-flags.ts';

interface DiscoveryFlags extends TlsFlags {
  authUrl: string;
  host: string;
  port: number;
  issuer: string;
  audience: string;
  leaseTtl: number;
  maxLeaseTtl: number;
  maxTopicsPerBroker: number;
  maxSessionsPerBroker: number;
  maxSessions: number;
  sessionOrphanTtl: number;
  logLevel: LogLevel;
  exitWithStdin: boolean;
}

/**
 * `mqfed discovery`: start the discovery service. It trusts the tokens of the authentication
 * service at `--auth-url`, verified offline from that service's published keys.
 */
export function registerDiscoveryCommand(program: Command): void {
  addTlsOptions(program.command('discovery'))
    .description('Run the discovery service until SIGINT or SIGTERM')
    .addOption(
      new Option('--auth-url <url>', 'base URL of the authentication service (its JWKS is used)')
        .env('MQFED_AUTH_URL')
        .argParser(parseHttpUrl)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--host <host>', 'address to listen on')
        .env('MQFED_HOST')
        .default(discoveryServiceDefaults.host),
    )
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .env('MQFED_PORT')
        .argParser(parsePort)
        .default(discoveryServiceDefaults.port),
    )
    .addOption(
      new Option('--issuer <name>', 'iss claim tokens must carry')
        .env('MQFED_ISSUER')
        .default(discoveryServiceDefaults.issuer),
    )
    .addOption(
      new Option('--audience <name>', 'aud claim tokens must carry')
        .env('MQFED_AUDIENCE')
        .default(discoveryServiceDefaults.audience),
    )
    .addOption(
      new Option('--lease-ttl <duration>', 'lease lifetime when a broker asks for none, e.g. 15s')
        .env('MQFED_LEASE_TTL')
        .argParser(parseLeaseTtl)
        .default(discoveryServiceDefaults.defaultLeaseTtlMs, '15s'),
    )
    .addOption(
      new Option('--max-lease-ttl <duration>', 'longest lease granted, e.g. 5m')
        .env('MQFED_MAX_LEASE_TTL')
        .argParser(parseLeaseTtl)
        .default(discoveryServiceDefaults.maxLeaseTtlMs, '5m'),
    )
    .addOption(
      // [design] One flag for both of discovery's per-broker caps, topics and interest filters:
      // both bound what one broker (hostile or not) makes discovery and every watcher hold, the
      // defaults are the same number, and a broker's --max-advertised-filters then has one
      // value to stay under. The service options keep them apart for embedding.
      new Option(
        '--max-topics-per-broker <n>',
        'most topics, and most interest filters, one broker may advertise (TOPIC_LIMIT_EXCEEDED); ' +
          'a broker refused for it advertises broader entries that fit',
      )
        .env('MQFED_MAX_TOPICS_PER_BROKER')
        .argParser(parsePositiveInt)
        .default(discoveryServiceDefaults.maxTopicsPerBroker),
    )
    .addOption(
      new Option('--max-sessions-per-broker <n>', 'most MQTT sessions one broker may hold')
        .env('MQFED_MAX_SESSIONS_PER_BROKER')
        .argParser(parsePositiveInt)
        .default(discoveryServiceDefaults.maxSessionsPerBroker),
    )
    .addOption(
      new Option('--max-sessions <n>', 'most MQTT sessions in the session directory')
        .env('MQFED_MAX_SESSIONS')
        .argParser(parsePositiveInt)
        .default(discoveryServiceDefaults.maxSessions),
    )
    .addOption(
      new Option(
        '--session-orphan-ttl <duration>',
        'drop the sessions of a broker without a lease for this long, e.g. 24h',
      )
        .env('MQFED_SESSION_ORPHAN_TTL')
        .argParser(parseDuration)
        .default(discoveryServiceDefaults.sessionOrphanTtlMs, '24h'),
    )
    .addOption(
      new Option('--log-level <level>', 'structured log level on stderr')
        .env('MQFED_LOG_LEVEL')
        .argParser(parseLogLevel)
        .default('info'),
    )
    .addOption(exitWithStdinOption())
    .action(async (flags: DiscoveryFlags, command: Command) => {
      if (flags.leaseTtl > flags.maxLeaseTtl) {
        command.error("option '--lease-ttl <duration>' must not exceed --max-lease-ttl", {
          exitCode: 2,
          code: 'mqfed.leaseTtl',
        });
      }
      const { tls } = await tlsFromFlags(flags, command, {
        name: 'discovery',
        hosts: [flags.host],
        logLevel: flags.logLevel,
      });
      const service = await startDiscoveryService({
        ...(tls === undefined ? {} : { tls }),
        host: flags.host,
        port: flags.port,
        jwksUrl: `${flags.authUrl}${JWKS_PATH}`,
        issuer: flags.issuer,
        audience: flags.audience,
        defaultLeaseTtlMs: flags.leaseTtl,
        maxLeaseTtlMs: flags.maxLeaseTtl,
        maxTopicsPerBroker: flags.maxTopicsPerBroker,
        maxInterestPerBroker: flags.maxTopicsPerBroker,
        maxSessionsPerBroker: flags.maxSessionsPerBroker,
        maxSessions: flags.maxSessions,
        sessionOrphanTtlMs: flags.sessionOrphanTtl,
        logLevel: flags.logLevel,
      });
      await serveUntilSignal(
        service,
        () => process.stdout.write(`discovery ${service.url} watch ${service.watchUrl}\n`),
        flags,
      );
    });
}

function parseLeaseTtl(value: string): number {
  const ms = parseDuration(value);
  if (ms < discoveryServiceDefaults.minLeaseTtlMs) {
    throw new InvalidArgumentError(
      `expected a lease of at least ${discoveryServiceDefaults.minLeaseTtlMs}ms.`,
    );
  }
  return ms;
}
