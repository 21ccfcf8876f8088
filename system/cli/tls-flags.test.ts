import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate, requestJson } from '../common/index.ts';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

/** TLS on, as a user without flags gets it, with the local CA in `tlsDir`. */
const secureEnv = (tlsDir: string) => ({ MQFED_INSECURE: undefined, MQFED_TLS_DIR: tlsDir });

/** The certificate a TLS server at `url` presents (not verified: that is the point). */
async function servedCertificate(url: string): Promise<X509Certificate> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false });
  await new Promise((resolve, reject) =>
    socket.once('secureConnect', resolve).once('error', reject),
  );
  const raw = socket.getPeerCertificate().raw;
  socket.destroy();
  return new X509Certificate(raw);
}

describe('the service commands are TLS by default', () => {
  it('a service started without TLS flags makes a local CA once and reuses it on the next start', async () => {
    await using dir = await tempDir('mqfed-cli-tls-');
    const tlsDir = join(dir.path, 'tls');
    const args = ['auth', '--port', '0', '--data-dir', join(dir.path, 'auth')];
    const started: string[] = [];
    for (let run = 0; run < 2; run += 1) {
      await using child = spawnMqfed(args, secureEnv(tlsDir));
      const match = /^auth (https:\/\/\S+) jwks/.exec(await child.nextLine());
      expect(match).not.toBeNull();
      const url = match![1]!;
      const ca = await readFile(join(tlsDir, 'ca.pem'), 'utf8');
      started.push(ca);
      // Trusting the CA file is enough; the certificate names the loopback address.
      expect(await requestJson(`${url}/healthz`, { tls: { ca } })).toEqual({ status: 'ok' });
      expect((await servedCertificate(url)).checkIssued(new X509Certificate(ca))).toBe(true);
      expect((await stat(join(tlsDir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
      expect((await stat(join(tlsDir, 'auth-key.pem'))).mode & 0o777).toBe(0o600);
      expect(await child.stop()).toEqual({ code: 0, signal: null });
    }
    expect(started[1]).toBe(started[0]);
  });

  it('serves the certificate given by --tls-ca, --tls-cert and --tls-key', async () => {
    await using dir = await tempDir('mqfed-cli-tls-');
    const ca = createCertificateAuthority('operator CA');
    const own = issueCertificate(ca, { commonName: 'auth', hosts: ['127.0.0.1'] });
    const files = {
      ca: join(dir.path, 'ca.pem'),
      cert: join(dir.path, 'c.pem'),
      key: join(dir.path, 'k.pem'),
    };
    await writeFile(files.ca, ca.cert);
    await writeFile(files.cert, own.cert);
    await writeFile(files.key, own.key, { mode: 0o600 });
    await using child = spawnMqfed(
      [
        ...['auth', '--port', '0', '--data-dir', join(dir.path, 'auth')],
        ...['--tls-ca', files.ca, '--tls-cert', files.cert, '--tls-key', files.key],
      ],
      secureEnv(join(dir.path, 'unused')),
    );
    const url = /^auth (\S+) /.exec(await child.nextLine())![1]!;
    expect((await servedCertificate(url)).fingerprint256).toBe(
      new X509Certificate(own.cert).fingerprint256,
    );
    expect(await requestJson(`${url}/healthz`, { tls: { ca: ca.cert } })).toEqual({ status: 'ok' });
  });

  it('refuses an incomplete set of TLS files (exit 2) and a file that is no PEM (exit 1)', async () => {
    await using dir = await tempDir('mqfed-cli-tls-');
    const partial = await mqfed(
      ['discovery', '--auth-url', 'https://127.0.0.1:1', '--tls-ca', 'x.pem'],
      secureEnv(dir.path),
    );
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('--tls-key');
    const junk = join(dir.path, 'junk.pem');
    await writeFile(junk, 'not a certificate');
    const bad = await mqfed(['discovery', '--auth-url', 'https://127.0.0.1:1', '--port', '0'], {
      MQFED_TLS_CA: junk,
      MQFED_TLS_CERT: junk,
      MQFED_TLS_KEY: junk,
      MQFED_INSECURE: undefined,
    } as never);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('TLS_MATERIAL_INVALID');
  });

  it('--insecure serves plain text and says so loudly at start', async () => {
    await using dir = await tempDir('mqfed-cli-tls-');
    await using child = spawnMqfed(['auth', '--port', '0', '--data-dir', dir.path, '--insecure'], {
      MQFED_INSECURE: undefined,
      MQFED_TLS_DIR: join(dir.path, 'tls'),
    });
    expect(await child.nextLine()).toMatch(/^auth http:\/\//);
    const warning = child
      .stderr()
      .split('\n')
      .filter((line) => line.includes('clear text'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(warning).toEqual([expect.objectContaining({ level: 40 })]);
    await expect(stat(join(dir.path, 'tls'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
