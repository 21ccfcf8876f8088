import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { CA_FILE, ensureLocalTls } from '../common/index.ts';
import { DEFAULT_TLS_DIR } from './tls-flags.ts';

interface IssueFlags {
  dir: string;
  out?: string;
  host: string[];
}

// Every certificate also names loopback: the services' ports may be published on it.
const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

/**
 * `mqfed tls issue`: the local CA of `--dir` (made on first use, reused after) issues one
 * certificate per name, valid for that name as a host name. [design] For deployments that
 * prepare certificates before any service starts, e.g. the init service of
 * docker/compose.yaml: with `--out`, the CA certificate and the service certificates and keys
 * are copied to a second folder, so the services never see the CA's key.
 */
export function registerTlsCommand(program: Command): void {
  const tls = program.command('tls').description('Prepare TLS certificates from a local CA');
  tls
    .command('issue')
    .description(
      'Make or reuse the local CA in --dir and issue a certificate for each <name>, valid for ' +
        'that host name, the --host values and loopback; prints where the files are',
    )
    .argument('<name...>', 'service host names, e.g. auth discovery b1')
    .addOption(
      new Option('--dir <dir>', 'the local CA (ca.pem, ca-key.pem) and the certificates')
        .env('MQFED_TLS_DIR')
        .default(DEFAULT_TLS_DIR),
    )
    .addOption(
      new Option(
        '--out <dir>',
        'also copy ca.pem and each <name>.pem, <name>-key.pem here (without the CA key)',
      ).env('MQFED_TLS_OUT'),
    )
    .addOption(
      new Option(
        '--host <hosts>',
        'more names or addresses every certificate covers, comma-separated',
      )
        .env('MQFED_TLS_HOSTS')
        .argParser((value: string, previous: string[]) => [
          ...previous,
          ...value.split(',').filter((host) => host !== ''),
        ])
        .default([]),
    )
    .action(async (names: string[], flags: IssueFlags) => {
      if (flags.out !== undefined) await mkdir(flags.out, { recursive: true, mode: 0o700 });
      for (const name of names) {
        const local = await ensureLocalTls({
          dir: flags.dir,
          name,
          hosts: [name, ...flags.host, ...LOOPBACK],
        });
        const at = flags.out ?? flags.dir;
        if (flags.out !== undefined) {
          await replace(join(flags.out, `${name}-key.pem`), local.key, 0o600);
          await replace(join(flags.out, `${name}.pem`), local.cert, 0o644);
        }
        process.stdout.write(
          `tls ${name} cert ${resolve(at, `${name}.pem`)} key ${resolve(at, `${name}-key.pem`)} ca ${resolve(at, CA_FILE)}\n`,
        );
      }
      if (flags.out !== undefined) {
        await copyFile(join(flags.dir, CA_FILE), join(flags.out, `${CA_FILE}.tmp`));
        await rename(join(flags.out, `${CA_FILE}.tmp`), join(flags.out, CA_FILE));
      }
    });
}

/** Write then rename: a service starting meanwhile reads the old file or the new one. */
async function replace(path: string, content: string, mode: number): Promise<void> {
  await writeFile(`${path}.tmp`, content, { mode });
  await rename(`${path}.tmp`, path);
}
