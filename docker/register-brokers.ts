/**
 * One-shot helper for container deployments (docker/compose.yaml): registers broker ids with the
 * authentication service and writes each secret to `<out>/<id>.secret`, where `mqfed broker
 * --secret-file` reads it. `mqfed auth register --secret-file` writes one file for one id;
 * this script registers several at once and is idempotent (below), which a compose file's
 * one-shot service needs on every start. The image runs it with `node`; it uses the same auth
 * client as the CLI.
 *
 *   node docker/register-brokers.ts [--out /data/secrets] [--pub '#'] [--sub '#'] b1 b2 b3
 *   env: MQFED_AUTH_URL, MQFED_ADMIN_CREDENTIAL or MQFED_ADMIN_CREDENTIAL_FILE, and for an
 *   https:// auth service signed by a local CA, MQFED_TLS_CA (its certificate, PEM)
 *
 * Idempotent, so `docker compose up` can run it on every start: a secret file that still
 * obtains a token is kept (running brokers keep working); an id registered earlier whose file is
 * lost or stale gets a new secret. [design]
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAuthClient } from '../system/auth/index.ts';
import { MqfedError } from '../system/protocol/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: '/data/secrets' },
    pub: { type: 'string', default: '#' },
    sub: { type: 'string', default: '#' },
  },
});

const authUrl = process.env.MQFED_AUTH_URL;
if (authUrl === undefined || positionals.length === 0) {
  console.error(
    'usage: MQFED_AUTH_URL=... MQFED_ADMIN_CREDENTIAL=... node docker/register-brokers.ts [--out DIR] ID...',
  );
  process.exit(2);
}
const credentialFile = process.env.MQFED_ADMIN_CREDENTIAL_FILE;
const adminCredential =
  process.env.MQFED_ADMIN_CREDENTIAL ??
  (credentialFile === undefined ? undefined : (await readFile(credentialFile, 'utf8')).trim());
if (adminCredential === undefined) {
  console.error('register-brokers: set MQFED_ADMIN_CREDENTIAL or MQFED_ADMIN_CREDENTIAL_FILE');
  process.exit(2);
}

// The CA the auth service's certificate is signed by; without it, the system's CAs.
const caFile = process.env.MQFED_TLS_CA;
const auth = createAuthClient({
  url: authUrl,
  ...(caFile === undefined ? {} : { tls: { ca: await readFile(caFile, 'utf8') } }),
});
const STALE = new Set<string>(['CLIENT_CREDENTIALS_INVALID', 'SERVICE_NOT_FOUND']);
const topics = { pub: values.pub.split(','), sub: values.sub.split(',') };

async function secretStillWorks(id: string, path: string): Promise<boolean> {
  let secret: string;
  try {
    secret = (await readFile(path, 'utf8')).trim();
  } catch {
    return false;
  }
  try {
    await auth.issueToken({ id, secret });
    return true;
  } catch (error) {
    // Only a refusal of these credentials means stale; anything else (auth unreachable, a
    // wrong URL) is a real failure and must not cost a working broker its secret.
    if (error instanceof MqfedError && STALE.has(error.code)) return false;
    throw error;
  }
}

async function freshSecret(id: string): Promise<string> {
  try {
    return (await auth.registerService(adminCredential as string, { id, role: 'broker', topics }))
      .secret;
  } catch (error) {
    if (!(error instanceof MqfedError && error.code === 'SERVICE_EXISTS')) throw error;
    return (await auth.rotateSecret(adminCredential as string, id)).secret;
  }
}

for (const id of positionals) {
  const path = join(values.out, `${id}.secret`);
  if (await secretStillWorks(id, path)) {
    console.log(`${id}: kept ${path}`);
    continue;
  }
  // Write then rename, so a broker never reads half a secret; 0600: only this user reads it.
  await writeFile(`${path}.tmp`, `${await freshSecret(id)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  console.log(`${id}: registered, secret in ${path}`);
}
