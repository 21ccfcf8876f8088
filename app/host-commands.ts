import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { parseLinkProxies, runClientHost, runLinkProxies } from '../harness/index.ts';
import { serveUntilSignal } from '../system/cli/index.ts';

/**
 * The commands a testbed run starts on its hosts, inside the image: a client host, and the delay
 * proxies of one emulated host (swarm runs). Neither is for people to start by hand, but both
 * have `--help` and take their input from the environment, as the run's services do.
 */
export function registerHostCommands(program: Command): void {
  program
    .command('client-host')
    .description(
      'Run the simulated clients of one host for a harness (a client container of a run)',
    )
    .addOption(
      new Option(
        '--harness <url>',
        'the WebSocket URL the harness gave this host (holds its token)',
      ).env('MQFED_HARNESS_URL'),
    )
    .addOption(
      new Option(
        '--harness-file <path>',
        'read that URL from this file (a Docker secret: the token stays out of env and arguments)',
      ).env('MQFED_HARNESS_URL_FILE'),
    )
    .action(async (flags: { harness?: string; harnessFile?: string }, command: Command) => {
      const url = flags.harness ?? (await readSecretLine(flags.harnessFile));
      if (url === undefined) {
        command.error("option '--harness <url>' or '--harness-file <path>' is required", {
          code: 'commander.missingMandatoryOptionValue',
        });
      }
      await runClientHost(url, () => process.stdout.write(`client-host ${new URL(url).host}\n`));
    });

  program
    .command('link-proxies')
    .description(
      'Run the delay proxies of one emulated host of a swarm run (its links to other hosts)',
    )
    .addOption(
      new Option(
        '--spec <json>',
        'the proxies: [{"port":N,"target":{"host":H,"port":P},"forward":{"delayMs":D},"seed":S}]',
      )
        .env('MQFED_LINK_PROXIES')
        .makeOptionMandatory(),
    )
    .action(async (flags: { spec: string }) => {
      const running = await runLinkProxies(parseLinkProxies(flags.spec));
      const service = { url: '', close: running.close, [Symbol.asyncDispose]: running.close };
      await serveUntilSignal(service, () =>
        process.stdout.write(`link-proxies ${running.proxies.length}\n`),
      );
    });
}

/** The first line of a secret file, or undefined without a file. */
async function readSecretLine(path: string | undefined): Promise<string | undefined> {
  return path === undefined ? undefined : (await readFile(path, 'utf8')).split('\n')[0]?.trim();
}
