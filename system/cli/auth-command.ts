import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createAuthClient, startAuthService } from '../auth/index.ts';
import type { LogLevel, TlsTrust } from '../common/index.ts';
import {
  isValidTopicFilter,
  type ServiceRole,
  serviceIdSchema,
  serviceRoles,
} from '../protocol/index.ts';
import {
  parseDuration,
  parseHttpUrl,
  parseList,
  parseLogLevel,
  parsePort,
  parsePositiveInt,
} from './parsers.ts';
import { type PendingSecretFile, prepareSecretFile } from './secret-file.ts';
import { refuseSecretOnCommandLine } from './secret-flags.ts';
import { exitWithStdinOption, serveUntilSignal } from './serve-until-signal.ts';
import { addTlsOptions, type TlsFlags, tlsFromFlags } from './tls-flags.ts';

interface ServeFlags extends TlsFlags {
  host: string;
  port: number;
  dataDir: string;
  issuer: string;
  audience: string;
  tokenTtl: number;
  adminCredential?: string;
  adminCredentialFile?: string;
  provision?: string;
  logLevel: LogLevel;
  exitWithStdin: boolean;
}

interface AdminFlags {
  url: string;
  tlsCa?: string;
  adminCredential?: string;
  adminCredentialFile?: string;
}

interface SecretFlags {
  secretFile?: string;
}

/**
 * `mqfed auth` runs the authentication service (it is the default subcommand, `serve`), and
 * `mqfed auth register | rotate-secret | revoke | rotate-key | list` call its admin API. The
 * server's flags live on `serve` only: were they on `auth` itself, commander would take
 * `--admin-credential` away from the admin subcommands that also need it. [design]
 */
export function registerAuthCommands(program: Command): void {
  const auth = program
    .command('auth')
    .description('Run the authentication service (default: serve) or call its admin API');
  const serve = registerServe(auth);
  // `mqfed auth --help` lists the server's flags too, since `mqfed auth` alone runs the server.
  auth.addHelpText(
    'after',
    () =>
      `\nWith no command, \`mqfed auth [options]\` runs \`serve\`:\n\n${serve.helpInformation()}`,
  );
  registerAdminCommands(auth);
}

function registerServe(auth: Command): Command {
  return addTlsOptions(auth.command('serve', { isDefault: true }))
    .description('Start the authentication service and run until SIGINT or SIGTERM')
    .addOption(
      new Option('--host <host>', 'address to listen on').env('MQFED_HOST').default('127.0.0.1'),
    )
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .env('MQFED_PORT')
        .argParser(parsePort)
        .default(0),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'database and the admin credential, unless env MQFED_ADMIN_CREDENTIAL gives it',
      )
        .env('MQFED_DATA_DIR')
        .default('.data/auth'),
    )
    .addOption(
      new Option('--issuer <name>', 'iss claim of every token')
        .env('MQFED_ISSUER')
        .default('mqfed-auth'),
    )
    .addOption(
      new Option('--audience <name>', 'aud claim of every token')
        .env('MQFED_AUDIENCE')
        .default('mqfed'),
    )
    .addOption(
      new Option('--token-ttl <duration>', 'token lifetime, e.g. 10m or 90s')
        .env('MQFED_TOKEN_TTL')
        .argParser(parseTokenTtl)
        .default(600_000, '10m'),
    )
    .addOption(
      // Only the environment variable sets it: see secret-flags.ts.
      new Option('--admin-credential <credential>')
        .env('MQFED_ADMIN_CREDENTIAL')
        .argParser(parseAdminCredential)
        .conflicts('adminCredentialFile')
        .hideHelp(),
    )
    .addOption(
      // A Docker secret is a file (/run/secrets/...): an env variable would show in `inspect`.
      new Option(
        '--admin-credential-file <path>',
        'read the admin credential from this file, e.g. a Docker secret (or env MQFED_ADMIN_CREDENTIAL)',
      ).env('MQFED_ADMIN_CREDENTIAL_FILE'),
    )
    .addOption(
      new Option(
        '--provision <file>',
        'JSON manifest of services to register at start with secrets read from files, e.g. Docker secrets: {"services":[{"id","role","topics","secretFile"}]}',
      ).env('MQFED_AUTH_PROVISION'),
    )
    .addOption(
      new Option('--log-level <level>', 'structured log level on stderr')
        .env('MQFED_LOG_LEVEL')
        .argParser(parseLogLevel)
        .default('info'),
    )
    .addOption(exitWithStdinOption())
    .action(async (flags: ServeFlags, command: Command) => {
      refuseSecretOnCommandLine(command, {
        flag: '--admin-credential',
        key: 'adminCredential',
        alternatives:
          'MQFED_ADMIN_CREDENTIAL, or let the service generate one in its data directory',
      });
      const adminCredential =
        flags.adminCredentialFile === undefined
          ? flags.adminCredential
          : await readAdminCredentialFile(flags.adminCredentialFile, command);
      const { tls } = await tlsFromFlags(flags, command, {
        name: 'auth',
        hosts: [flags.host],
        logLevel: flags.logLevel,
      });
      const service = await startAuthService({
        ...(tls === undefined ? {} : { tls }),
        dataDir: flags.dataDir,
        host: flags.host,
        port: flags.port,
        issuer: flags.issuer,
        audience: flags.audience,
        tokenTtlMs: flags.tokenTtl,
        logLevel: flags.logLevel,
        ...(adminCredential === undefined ? {} : { adminCredential }),
        ...(flags.provision === undefined ? {} : { provisionFile: flags.provision }),
      });
      await serveUntilSignal(
        service,
        () => {
          process.stdout.write(`auth ${service.url} jwks ${service.jwksUrl}\n`);
          if (service.adminCredentialSource === 'generated') {
            process.stdout.write(`admin credential written to ${service.adminCredentialPath}\n`);
          } else if (service.adminCredentialSource === 'file') {
            process.stdout.write(`admin credential read from ${service.adminCredentialPath}\n`);
          }
        },
        flags,
      );
    });
}

function registerAdminCommands(auth: Command): void {
  adminCommand(auth, 'register', 'Register a service; prints {"id","secret"} as JSON')
    .addOption(
      new Option('--role <role>', 'what the service is')
        .choices(serviceRoles)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--id <id>', 'service id (generated when absent)').argParser(parseServiceId),
    )
    .addOption(
      new Option('--pub <filters>', 'topic filters it may offer, comma-separated').argParser(
        parseFilters,
      ),
    )
    .addOption(
      new Option('--sub <filters>', 'topic filters it may consume, comma-separated').argParser(
        parseFilters,
      ),
    )
    .addOption(secretFileOption())
    .action(
      async (
        flags: AdminFlags &
          SecretFlags & { role: ServiceRole; id?: string; pub?: string[]; sub?: string[] },
        command: Command,
      ) => {
        const credential = await adminCredentialOf(flags, command);
        const request = {
          role: flags.role,
          topics: { pub: flags.pub ?? [], sub: flags.sub ?? [] },
        };
        await deliverSecret(flags, command, async () =>
          createAuthClient({ url: flags.url, tls: await adminTrust(flags) }).registerService(
            credential,
            flags.id === undefined ? request : { ...request, id: flags.id },
          ),
        );
      },
    );

  adminCommand(auth, 'rotate-secret', 'Give a service a new secret; the old one stops working')
    .addOption(
      new Option('--id <id>', 'service id').argParser(parseServiceId).makeOptionMandatory(),
    )
    .addOption(secretFileOption())
    .action(async (flags: AdminFlags & SecretFlags & { id: string }, command: Command) => {
      const credential = await adminCredentialOf(flags, command);
      await deliverSecret(flags, command, async () =>
        createAuthClient({ url: flags.url, tls: await adminTrust(flags) }).rotateSecret(
          credential,
          flags.id,
        ),
      );
    });

  adminCommand(
    auth,
    'revoke',
    'Delete a registration; its tokens stop working everywhere within seconds',
  )
    .addOption(
      new Option('--id <id>', 'service id').argParser(parseServiceId).makeOptionMandatory(),
    )
    .action(async (flags: AdminFlags & { id: string }, command: Command) => {
      const credential = await adminCredentialOf(flags, command);
      await createAuthClient({ url: flags.url, tls: await adminTrust(flags) }).revokeService(
        credential,
        flags.id,
      );
      printJson({ id: flags.id, revoked: true });
    });

  adminCommand(auth, 'revoke-token', 'Revoke one token by its jti, at every service within seconds')
    .addOption(new Option('--jti <jti>', 'the jti claim of the token').makeOptionMandatory())
    .addOption(
      new Option(
        '--exp <seconds>',
        "the token's exp claim (epoch seconds), to drop the entry sooner",
      ).argParser(parsePositiveInt),
    )
    .action(async (flags: AdminFlags & { jti: string; exp?: number }, command: Command) => {
      const credential = await adminCredentialOf(flags, command);
      printJson(
        await createAuthClient({ url: flags.url, tls: await adminTrust(flags) }).revokeToken(
          credential,
          flags.jti,
          flags.exp,
        ),
      );
    });

  adminCommand(auth, 'rotate-key', 'Sign with a new key from now on; prints {"kid"}').action(
    async (flags: AdminFlags, command: Command) => {
      const credential = await adminCredentialOf(flags, command);
      printJson(
        await createAuthClient({ url: flags.url, tls: await adminTrust(flags) }).rotateKey(
          credential,
        ),
      );
    },
  );

  adminCommand(auth, 'list', 'List registered services (never their secrets)').action(
    async (flags: AdminFlags, command: Command) => {
      const credential = await adminCredentialOf(flags, command);
      printJson(
        await createAuthClient({ url: flags.url, tls: await adminTrust(flags) }).listServices(
          credential,
        ),
      );
    },
  );
}

/** The CA an https:// auth service is signed by: `--tls-ca`, else the system's CAs. */
async function adminTrust(flags: AdminFlags): Promise<TlsTrust | undefined> {
  return flags.tlsCa === undefined ? undefined : { ca: await readFile(flags.tlsCa, 'utf8') };
}

function adminCommand(auth: Command, name: string, description: string): Command {
  return auth
    .command(name)
    .description(description)
    .addOption(
      new Option('--tls-ca <file>', 'CA certificate (PEM) the auth service is signed by').env(
        'MQFED_TLS_CA',
      ),
    )
    .addOption(
      new Option('--url <url>', 'base URL of the authentication service')
        .env('MQFED_AUTH_URL')
        .argParser(parseHttpUrl)
        .makeOptionMandatory(),
    )
    .addOption(
      // Only the environment variable sets it: see secret-flags.ts.
      new Option('--admin-credential <credential>')
        .env('MQFED_ADMIN_CREDENTIAL')
        .conflicts('adminCredentialFile')
        .hideHelp(),
    )
    .addOption(
      new Option(
        '--admin-credential-file <path>',
        'read the admin credential from this file (or give it in env MQFED_ADMIN_CREDENTIAL)',
      ).env('MQFED_ADMIN_CREDENTIAL_FILE'),
    );
}

/** `auth serve --admin-credential-file`: the file's content, trimmed, at least 16 characters. */
async function readAdminCredentialFile(path: string, command: Command): Promise<string> {
  let credential: string;
  try {
    credential = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    return command.error(
      `option '--admin-credential-file <path>' cannot read ${path} (${reason})`,
      { exitCode: 2, code: 'mqfed.adminCredentialFile' },
    );
  }
  if (credential.length < 16) {
    return command.error(
      `option '--admin-credential-file <path>': the credential in ${path} is shorter than 16 characters`,
      { exitCode: 2, code: 'mqfed.adminCredentialFile' },
    );
  }
  return credential;
}

async function adminCredentialOf(flags: AdminFlags, command: Command): Promise<string> {
  refuseSecretOnCommandLine(command, {
    flag: '--admin-credential',
    key: 'adminCredential',
    alternatives: '--admin-credential-file or MQFED_ADMIN_CREDENTIAL',
  });
  if (flags.adminCredential !== undefined) return flags.adminCredential;
  if (flags.adminCredentialFile !== undefined) {
    try {
      return (await readFile(flags.adminCredentialFile, 'utf8')).trim();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      return command.error(
        `option '--admin-credential-file <path>' cannot read ${flags.adminCredentialFile} (${reason})`,
        { exitCode: 2, code: 'mqfed.adminCredentialFile' },
      );
    }
  }
  return command.error(
    "required option '--admin-credential-file <path>' (or env MQFED_ADMIN_CREDENTIAL) not specified",
    { exitCode: 2, code: 'mqfed.missingAdminCredential' },
  );
}

/**
 * `--secret-file`: where `mqfed broker --secret-file` will read the secret. [design] No env
 * variable: it names the output of one call, not a setting of the environment.
 */
function secretFileOption(): Option {
  return new Option(
    '--secret-file <path>',
    'write the secret to this file, owner-only (0600), and print {"id","secretFile"} instead',
  );
}

/**
 * Prints what `obtain` returns, or, with `--secret-file`, writes its secret to that file and
 * prints only where it went: a secret on stdout ends up in terminal scrollback and CI logs.
 */
async function deliverSecret(
  flags: SecretFlags,
  command: Command,
  obtain: () => Promise<{ id: string; secret: string }>,
): Promise<void> {
  const path = flags.secretFile;
  if (path === undefined) {
    printJson(await obtain());
    return;
  }
  let pending: PendingSecretFile;
  try {
    pending = await prepareSecretFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    return command.error(`option '--secret-file <path>' cannot write ${path} (${reason})`, {
      exitCode: 2,
      code: 'mqfed.secretFile',
    });
  }
  let created: { id: string; secret: string };
  try {
    created = await obtain();
  } catch (error) {
    await pending.discard();
    throw error;
  }
  await pending.commit(created.secret);
  printJson({ id: created.id, secretFile: path });
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function parseTokenTtl(value: string): number {
  const ms = parseDuration(value);
  if (ms < 1_000) throw new InvalidArgumentError('expected a token lifetime of at least 1s.');
  return ms;
}

function parseAdminCredential(value: string): string {
  if (value.length < 16) throw new InvalidArgumentError('expected at least 16 characters.');
  return value;
}

function parseServiceId(value: string): string {
  if (!serviceIdSchema.safeParse(value).success) {
    throw new InvalidArgumentError('expected letters, digits, ".", "_" or "-" (at most 128).');
  }
  return value;
}

function parseFilters(value: string): string[] {
  const filters = parseList(value);
  const bad = filters.find((filter) => !isValidTopicFilter(filter));
  if (bad !== undefined)
    throw new InvalidArgumentError(`${JSON.stringify(bad)} is not an MQTT topic filter.`);
  return filters;
}
