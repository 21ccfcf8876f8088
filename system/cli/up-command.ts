import { type Command, Option } from 'commander';
import { startLocalFederation } from '../broker/index.ts';
import { createLogger, type LogLevel } from '../common/index.ts';
import { discoveryServiceDefaults } from '../discovery/index.ts';
import { type AdvertiseFlags, addAdvertiseOptions, advertiseOptionsOf } from './advertise-flags.ts';
import { brokerLine } from './broker-command.ts';
import {
  addMqttClientOptions,
  type MqttClientFlags,
  mqttClientOptionsOf,
} from './mqtt-client-flags.ts';
import { parseLogLevel, parsePort, parsePositiveInt } from './parsers.ts';
import { exitWithStdinOption, serveUntilSignal } from './serve-until-signal.ts';

interface UpFlags extends MqttClientFlags, AdvertiseFlags {
  host: string;
  brokers: number;
  mqttPort: number;
  mqttsPort: number;
  dataDir: string;
  insecure: boolean;
  logLevel: LogLevel;
  exitWithStdin: boolean;
}

/**
 * `mqfed up`: a whole federation on this machine in one process: auth, discovery and N broker
 * services registered with both, MQTT on consecutive ports. It prints one line per service, then
 * exactly `ready`.
 */
export function registerUpCommand(program: Command): void {
  // [design] The same per-client limits and client cap as `mqfed broker`, applied to every
  // broker: a local federation used for measuring (bench:link --federation up) or for a demo
  // with a fast publisher needs them as much as one broker does.
  // [design] `--declare` takes the same filters as `mqfed broker --declare` and every broker
  // declares them all, rather than `<broker>=<filter>` naming one: a client of `mqfed up` may
  // publish on any of its brokers, so only a filter declared on all of them is advertised
  // wherever the first publish happens; and the value moves unchanged to a federation of
  // `mqfed broker` processes.
  addAdvertiseOptions(addMqttClientOptions(program.command('up')))
    .description('Start a local federation: auth, discovery and N broker services')
    .addOption(
      new Option('--host <host>', 'address to listen on').env('MQFED_HOST').default('127.0.0.1'),
    )
    .addOption(
      new Option('--brokers <n>', 'how many broker services')
        .env('MQFED_BROKERS')
        .argParser(parsePositiveInt)
        .default(3),
    )
    .addOption(
      new Option('--mqtt-port <port>', 'MQTT port of the first broker; the others follow (0: free)')
        .env('MQFED_MQTT_PORT')
        .argParser(parsePort)
        .default(1883),
    )
    .addOption(
      new Option('--mqtts-port <port>', 'MQTTS port of the first broker; the others follow')
        .env('MQFED_MQTTS_PORT')
        .argParser(parsePort)
        .default(8883),
    )
    .addOption(
      new Option('--insecure', 'no TLS: traffic and tokens cross the network in clear text')
        .env('MQFED_INSECURE')
        .default(false),
    )
    .addOption(
      new Option('--data-dir <dir>', 'databases, and the local CA in <dir>/tls (first start)')
        .env('MQFED_DATA_DIR')
        .default('.data/up'),
    )
    .addOption(
      new Option('--log-level <level>', 'structured log level on stderr')
        .env('MQFED_LOG_LEVEL')
        .argParser(parseLogLevel)
        .default('warn'),
    )
    .addOption(exitWithStdinOption())
    .action(async (flags: UpFlags, command: Command) => {
      for (const [flag, port] of [
        ['--mqtt-port', flags.mqttPort],
        ['--mqtts-port', flags.mqttsPort],
      ] as const) {
        if (port !== 0 && port + flags.brokers - 1 > 65_535) {
          command.error(`option '${flag} <port>' leaves no room for every broker's port`, {
            exitCode: 2,
            code: 'mqfed.mqttPort',
          });
        }
      }
      // The discovery service started here keeps its default cap: a broker above it would be
      // refused once and then fold under it anyway, so a higher value is a mistake in the flags.
      const discoveryCap = discoveryServiceDefaults.maxInterestPerBroker;
      if (flags.maxAdvertisedFilters > discoveryCap) {
        command.error(
          `option '--max-advertised-filters <n>' must be at most discovery's cap of ${discoveryCap}`,
          { exitCode: 2, code: 'mqfed.maxAdvertisedFilters' },
        );
      }
      if (flags.insecure) {
        createLogger('up', flags.logLevel).warn(
          { insecure: true },
          'INSECURE: TLS is off (--insecure); traffic and tokens cross the network in clear ' +
            'text, readable and replayable by anyone on the path',
        );
      }
      const federation = await startLocalFederation({
        dataDir: `${flags.dataDir}/auth`,
        host: flags.host,
        brokers: flags.brokers,
        mqttPort: flags.mqttPort,
        mqttsPort: flags.mqttsPort,
        // [design] One CA for the whole federation, in <data-dir>/tls, made on first start.
        tls: flags.insecure ? false : { dir: flags.dataDir },
        // On loopback (the default host) anonymous clients are taken anyway.
        broker: { ...mqttClientOptionsOf(flags), ...advertiseOptionsOf(flags) },
        logLevel: flags.logLevel,
      });
      const { auth, discovery } = federation;
      await serveUntilSignal(
        federation,
        () => {
          process.stdout.write(`auth ${auth.url} jwks ${auth.jwksUrl}\n`);
          if (auth.adminCredentialPath !== undefined) {
            process.stdout.write(`admin credential in ${auth.adminCredentialPath}\n`);
          }
          process.stdout.write(`discovery ${discovery.url} watch ${discovery.watchUrl}\n`);
          for (const broker of federation.brokers()) process.stdout.write(brokerLine(broker));
          const first = federation.brokers()[0]?.mqttsUrl;
          if (federation.caPath !== undefined && first !== undefined) {
            const port = new URL(first).port;
            process.stdout.write(
              `tls ca ${federation.caPath}: mosquitto_sub --cafile ${federation.caPath} -h localhost -p ${port} -t '#'\n`,
            );
          }
          process.stdout.write('ready\n');
        },
        flags,
      );
    });
}
