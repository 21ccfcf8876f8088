import { execFile } from 'node:child_process';
import { delimiter, isAbsolute, join } from 'node:path';
import { TestbedError } from '../testbed-error.ts';

/** A Mosquitto broker binary, and the version it says it is. */
export interface MosquittoBinary {
  path: string;
  /** From the first line of `mosquitto -h`, e.g. `2.0.11`. */
  version: string;
}

/** Names the binary to use, ahead of any search. */
export const MOSQUITTO_ENV = 'MQFED_MOSQUITTO';

/**
 * Where packages put the broker when PATH does not reach it: Debian's and most distributions'
 * sbin (not on a non-root user's PATH), a build from source, Homebrew on Apple silicon and on
 * Intel.
 */
const USUAL_FOLDERS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/opt/homebrew/sbin',
  '/usr/local/opt/mosquitto/sbin',
];

const VERSION_TIMEOUT_MS = 5_000;

/** How the search goes, for `--help` texts. */
export const MOSQUITTO_SEARCH_HELP =
  `Mosquitto: ${MOSQUITTO_ENV}=/path/to/mosquitto if set, else the first mosquitto on PATH, ` +
  `else ${USUAL_FOLDERS.slice(0, 3).join(', ')}; its version goes into the results`;

/**
 * Finds the Mosquitto to compare with. [design] One place decides it for the benches, the
 * testbed's baseline topology and the tests, so they all measure the same broker and the
 * results can say which (its version goes into each results file): `MQFED_MOSQUITTO` if set,
 * else the first `mosquitto` on PATH, else the usual install folders. A candidate counts only
 * when it runs and says it is Mosquitto; a named one that does not is an error, not a reason
 * to look elsewhere. Resolves undefined when there is none.
 */
export function findMosquitto(
  env: NodeJS.ProcessEnv = process.env,
  usualFolders: readonly string[] = USUAL_FOLDERS,
): Promise<MosquittoBinary | undefined> {
  // Probing runs each candidate: once per process and search is enough.
  const key = [env[MOSQUITTO_ENV] ?? '', env.PATH ?? '', ...usualFolders].join('\0');
  let found = searches.get(key);
  if (found === undefined) {
    found = search(env, usualFolders);
    searches.set(key, found);
  }
  return found;
}

const searches = new Map<string, Promise<MosquittoBinary | undefined>>();

async function search(
  env: NodeJS.ProcessEnv,
  usualFolders: readonly string[],
): Promise<MosquittoBinary | undefined> {
  const named = env[MOSQUITTO_ENV];
  if (named !== undefined && named !== '') {
    if (!isAbsolute(named)) {
      throw new TestbedError(
        'MOSQUITTO_NOT_FOUND',
        `${MOSQUITTO_ENV}=${named}: give the absolute path of the mosquitto binary`,
      );
    }
    const found = await probe(named);
    if (typeof found === 'string') {
      throw new TestbedError('MOSQUITTO_NOT_FOUND', `${MOSQUITTO_ENV}=${named}: ${found}`);
    }
    return found;
  }
  for (const candidate of searchOrder(env.PATH ?? '', usualFolders)) {
    const found = await probe(candidate);
    if (typeof found !== 'string') return found;
  }
  return undefined;
}

/** As `findMosquitto`, for callers that cannot go on without it. */
export async function requireMosquitto(
  env: NodeJS.ProcessEnv = process.env,
  usualFolders: readonly string[] = USUAL_FOLDERS,
): Promise<MosquittoBinary> {
  const found = await findMosquitto(env, usualFolders);
  if (found !== undefined) return found;
  throw new TestbedError('MOSQUITTO_NOT_FOUND', noMosquittoFound(usualFolders));
}

/** What a run or bench says when the search found none, and how to give it one. */
export function noMosquittoFound(usualFolders: readonly string[] = USUAL_FOLDERS): string {
  return (
    `no mosquitto on PATH or in ${usualFolders.join(', ')} (apt-get install mosquitto, ` +
    `brew install mosquitto, or name one with ${MOSQUITTO_ENV}=/path/to/mosquitto)`
  );
}

/** `mosquitto` in each PATH folder, then in the usual folders, each folder once. */
export function searchOrder(
  path: string,
  usualFolders: readonly string[] = USUAL_FOLDERS,
): string[] {
  // A relative PATH entry would depend on the working directory: left out.
  const folders = [
    ...path.split(delimiter).filter((folder) => isAbsolute(folder)),
    ...usualFolders,
  ];
  return [...new Set(folders)].map((folder) => join(folder, 'mosquitto'));
}

/**
 * The binary at `path` and its version, or why it is not one. Running it is the one check:
 * `mosquitto -h` exits non-zero in some versions after printing its help, so the output is read
 * whatever the exit, and only a failure to start says the file is missing or not runnable.
 */
function probe(path: string): Promise<MosquittoBinary | string> {
  return new Promise((resolve) => {
    execFile(
      path,
      ['-h'],
      { timeout: VERSION_TIMEOUT_MS, maxBuffer: 64 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        if (code === 'ENOENT') return resolve('no such file');
        if (code === 'EACCES') return resolve('not executable');
        const version = versionIn(`${stdout ?? ''}\n${stderr ?? ''}`);
        resolve(
          version === undefined
            ? 'does not say it is Mosquitto (`-h` printed no "mosquitto version")'
            : { path, version },
        );
      },
    );
  });
}

/** `2.0.11` from `mosquitto version 2.0.11`; a short token only, as it goes into reports. */
export function versionIn(help: string): string | undefined {
  return /^mosquitto version ([0-9A-Za-z.+~-]{1,32})\s*$/m.exec(help)?.[1];
}
