import { type Command, Option } from 'commander';
import { startLocalFederation } from '../broker/index.ts';
import type { LogLevel } from '../common/index.ts';
import { brokerLine } from './broker-command.ts';
import { parseLogLevel, parsePort, parsePositiveInt } from './parsers.ts';
import { exitWithStdinOption, serveUntilSignal } from './serve-until-signal.ts';

interface UpFlags {
  host: string;
  brokers: number;
  mqttPort: number;
  dataDir: string;
  logLevel: LogLevel;
  exitWithStdin: boolean;
}

/**
 * `mqfed up`: a whole federation on this machine in one process: auth, discovery and N broker
 * services registered with both, MQTT on consecutive ports. It prints one line per service, then
 * exactly `ready`.
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
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
      new Option('--data-dir <dir>', 'where the auth service keeps its database')
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
      if (flags.mqttPort !== 0 && flags.mqttPort + flags.brokers - 1 > 65_535) {
        command.error("option '--mqtt-port <port>' leaves no room for every broker's port", {
          exitCode: 2,
          code: 'mqfed.mqttPort',
        });
      }
      const federation = await startLocalFederation({
        dataDir: `${flags.dataDir}/auth`,
        host: flags.host,
        brokers: flags.brokers,
        mqttPort: flags.mqttPort,
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
          process.stdout.write('ready\n');
        },
        flags,
      );
    });
}
