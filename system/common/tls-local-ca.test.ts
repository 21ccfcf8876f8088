import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './testing.ts';
import { createCertificateAuthority, issueCertificate } from './tls-certificates.ts';
import { ensureLocalTls } from './tls-local-ca.ts';

describe('the local CA', () => {
  it('signs certificates that name every host given, as DNS names and IP addresses', () => {
    const ca = createCertificateAuthority();
    const leaf = new X509Certificate(
      issueCertificate(ca, {
        commonName: 'b1',
        hosts: ['127.0.0.1', '::1', 'localhost', 'broker-b1'],
      }).cert,
    );
    expect(leaf.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(leaf.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBeDefined();
    expect(leaf.checkHost('broker-b1')).toBe('broker-b1');
    expect(leaf.checkHost('elsewhere.example')).toBeUndefined();
    expect(leaf.ca).toBe(false);
    expect(new X509Certificate(ca.cert).ca).toBe(true);
  });

  it('is made once, reused after, and reissues a certificate whose hosts changed', async () => {
    await using dir = await tempDir('mqfed-tls-');
    const tls = join(dir.path, 'tls');
    const first = await ensureLocalTls({ dir: tls, name: 'auth', hosts: ['127.0.0.1'] });
    expect(first.createdCa).toBe(true);
    expect(first.caPath).toBe(join(tls, 'ca.pem'));
    expect((await stat(join(tls, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(tls, 'auth-key.pem'))).mode & 0o777).toBe(0o600);

    const again = await ensureLocalTls({ dir: tls, name: 'auth', hosts: ['127.0.0.1'] });
    expect(again.createdCa).toBe(false);
    expect([again.ca, again.cert, again.key]).toEqual([first.ca, first.cert, first.key]);

    const moved = await ensureLocalTls({ dir: tls, name: 'auth', hosts: ['127.0.0.1', 'auth'] });
    expect(moved.ca).toBe(first.ca);
    expect(moved.cert).not.toBe(first.cert);
    expect(new X509Certificate(moved.cert).checkHost('auth')).toBe('auth');
    expect(await readFile(join(tls, 'auth.pem'), 'utf8')).toBe(moved.cert);
  });
});
