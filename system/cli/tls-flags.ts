import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import {
  createLogger,
  ensureLocalTls,
  type LogLevel,
  loadTlsFiles,
  type TlsConfig,
} from '../common/index.ts';

/** Where services started from one directory find their shared local CA by default. */
export const DEFAULT_TLS_DIR = '.data/tls';

export interface TlsFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsDir: string;
  insecure: boolean;
}

export interface CliTls {
  /** Absent with `--insecure`. */
  tls?: TlsConfig;
  /** The CA file clients are given (`mosquitto_sub --cafile`). */
  caPath?: string;
}

/**
 * The TLS flags every service command takes. [design] Secure by default: without flags the
 * service makes (first start) or reuses a local CA in `--tls-dir` and a certificate for itself;
 * services started from one directory share that CA. Plain text only with `--insecure`.
 */
export function addTlsOptions(command: Command, defaultDir = DEFAULT_TLS_DIR): Command {
  return command
    .addOption(
      new Option('--tls-ca <file>', 'CA certificate (PEM) the other services are signed by').env(
        'MQFED_TLS_CA',
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', "this service's certificate (PEM), signed by --tls-ca").env(
        'MQFED_TLS_CERT',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'its private key (PEM)').env('MQFED_TLS_KEY'))
    .addOption(
      new Option(
        '--tls-dir <dir>',
        'without --tls-ca/cert/key: the local CA (ca.pem) and this service certificate, made here on first start',
      )
        .env('MQFED_TLS_DIR')
        .default(defaultDir),
    )
    .addOption(
      new Option('--insecure', 'no TLS at all: traffic and tokens cross the network in clear text')
        .env('MQFED_INSECURE')
        .default(false)
        .conflicts(['tlsCa', 'tlsCert', 'tlsKey']),
    );
}

export interface TlsService {
  /** File name stem of the certificate made in `--tls-dir`, e.g. `auth`, `broker-b1`. */
  name: string;
  /** Hosts clients reach it by, besides loopback and this machine's name. */
  hosts: readonly (string | undefined)[];
  logLevel: LogLevel;
}

/** The service's TLS from its flags: the given files, the local CA, or nothing (`--insecure`). */
export async function tlsFromFlags(
  flags: TlsFlags,
  command: Command,
  service: TlsService,
): Promise<CliTls> {
  if (flags.insecure) {
    createLogger(service.name, service.logLevel).warn(
      { insecure: true },
      'INSECURE: TLS is off (--insecure); traffic and tokens cross the network in clear text, ' +
        'readable and replayable by anyone on the path',
    );
    return {};
  }
  const given = [flags.tlsCa, flags.tlsCert, flags.tlsKey].filter((file) => file !== undefined);
  if (given.length > 0) {
    if (flags.tlsCa === undefined || flags.tlsCert === undefined || flags.tlsKey === undefined) {
      return command.error("options '--tls-ca', '--tls-cert' and '--tls-key' go together", {
        exitCode: 2,
        code: 'mqfed.tlsFiles',
      });
    }
    const tls = await loadTlsFiles({
      caFile: flags.tlsCa,
      certFile: flags.tlsCert,
      keyFile: flags.tlsKey,
    });
    return { tls, caPath: flags.tlsCa };
  }
  const local = await ensureLocalTls({
    dir: flags.tlsDir,
    name: service.name,
    hosts: certificateHosts(service.hosts),
  });
  if (local.createdCa) {
    createLogger(service.name, service.logLevel).info(
      { caPath: local.caPath },
      'created a local CA; clients must trust this file',
    );
  }
  return { tls: { ca: local.ca, cert: local.cert, key: local.key }, caPath: local.caPath };
}

/** Loopback, this machine's name and the given hosts, wildcard addresses left out. */
export function certificateHosts(hosts: readonly (string | undefined)[]): string[] {
  const all = [...hosts, '127.0.0.1', '::1', 'localhost', hostname()];
  return all.filter(
    (host): host is string => host !== undefined && host !== '0.0.0.0' && host !== '::',
  );
}
