import { type Command, Option } from 'commander';
import { startAuthService } from '../auth/index.ts';
import type { LogLevel, RunningService } from '../common/index.ts';
import { startDiscoveryService } from '../discovery/index.ts';
import { parseLogLevel, parsePort } from './parsers.ts';
import { serveUntilSignal } from './serve-until-signal.ts';

interface UpFlags {
  host: string;
  authPort: number;
  discoveryPort: number;
  dataDir: string;
  logLevel: LogLevel;
}

/**
 * `mqfed up`: a whole federation on this machine in one process. Today that is the control
 * plane (auth and discovery); broker services join it in the next step. [design]
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('Start a local federation: the authentication and discovery services')
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(
      new Option('--auth-port <port>', 'auth service port (0 picks a free one)')
        .argParser(parsePort)
        .default(0),
    )
    .addOption(
      new Option('--discovery-port <port>', 'discovery service port (0 picks a free one)')
        .argParser(parsePort)
        .default(0),
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
    .action(async (flags: UpFlags) => {
      const services: RunningService[] = [];
      const closeAll = async () => {
        for (const service of services.reverse()) await service.close();
      };
      try {
        const auth = await startAuthService({
          dataDir: `${flags.dataDir}/auth`,
          host: flags.host,
          port: flags.authPort,
          logLevel: flags.logLevel,
        });
        services.push(auth);
        process.stdout.write(`auth ${auth.url} jwks ${auth.jwksUrl}\n`);
        if (auth.adminCredentialPath !== undefined) {
          process.stdout.write(`admin credential in ${auth.adminCredentialPath}\n`);
        }
        const discovery = await startDiscoveryService({
          host: flags.host,
          port: flags.discoveryPort,
          jwksUrl: auth.jwksUrl,
          issuer: auth.issuer,
          audience: auth.audience,
          logLevel: flags.logLevel,
        });
        services.push(discovery);
        process.stdout.write(`discovery ${discovery.url} watch ${discovery.watchUrl}\n`);
      } catch (error) {
        await closeAll();
        throw error;
      }
      process.stdout.write('ready\n');
      await serveUntilSignal({
        url: services[0]!.url,
        close: closeAll,
        [Symbol.asyncDispose]: closeAll,
      });
    });
}
