import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './testing.ts';
import { createCertificateAuthority, issueCertificate } from './tls-certificates.ts';
import { isLoopbackHost, loadTlsFiles } from './tls-config.ts';

describe('TLS files given by an operator', () => {
  it('load when the key is the certificate’s, and are refused with TLS_MATERIAL_INVALID otherwise', async () => {
    await using dir = await tempDir('mqfed-tls-files-');
    const ca = createCertificateAuthority();
    const one = issueCertificate(ca, { commonName: 'one', hosts: ['127.0.0.1'] });
    const other = issueCertificate(ca, { commonName: 'other', hosts: ['127.0.0.1'] });
    const file = async (name: string, text: string) => {
      const path = join(dir.path, name);
      await writeFile(path, text);
      return path;
    };
    const files = {
      caFile: await file('ca.pem', ca.cert),
      certFile: await file('cert.pem', one.cert),
      keyFile: await file('key.pem', one.key),
    };
    expect(await loadTlsFiles(files)).toEqual({ ca: ca.cert, cert: one.cert, key: one.key });
    for (const wrong of [
      { ...files, keyFile: await file('other-key.pem', other.key) },
      { ...files, certFile: await file('junk.pem', 'junk') },
      { ...files, caFile: join(dir.path, 'missing.pem') },
    ]) {
      await expect(loadTlsFiles(wrong)).rejects.toMatchObject({ code: 'TLS_MATERIAL_INVALID' });
    }
  });

  it('tell loopback addresses from the others', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.org', '128.0.0.1'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
