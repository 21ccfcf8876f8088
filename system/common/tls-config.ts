import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { MqfedError } from '../protocol/index.ts';

/**
 * What a client needs to trust a server: the CA certificate(s), PEM. Passed down explicitly, never
 * installed process-wide, so one process can hold two federations with different CAs. [design]
 */
export interface TlsTrust {
  ca: string;
}

/** What a service needs for TLS: its own certificate and key (as a server) and the CA it trusts. */
export interface TlsConfig extends TlsTrust {
  cert: string;
  key: string;
}

const pem = (label: string) =>
  z.string().refine((text) => text.includes(`-----BEGIN ${label}`), `not a PEM ${label}`);

export const tlsConfigSchema = z.object({
  ca: pem('CERTIFICATE'),
  cert: pem('CERTIFICATE'),
  key: z.string().regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'not a PEM private key'),
});

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Reads a CA, a certificate and its key from PEM files: TLS_MATERIAL_INVALID naming the file. */
export async function loadTlsFiles(files: TlsFiles): Promise<TlsConfig> {
  const read = async (path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new MqfedError('TLS_MATERIAL_INVALID', `cannot read ${path}`, error);
    }
  };
  const config = {
    ca: await read(files.caFile),
    cert: await read(files.certFile),
    key: await read(files.keyFile),
  };
  const parsed = tlsConfigSchema.safeParse(config);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? 'ca') as keyof TlsConfig;
    const file = { ca: files.caFile, cert: files.certFile, key: files.keyFile }[field];
    throw new MqfedError('TLS_MATERIAL_INVALID', `${file}: ${parsed.error.issues[0]?.message}`);
  }
  let matches: boolean;
  try {
    matches = new X509Certificate(config.cert).checkPrivateKey(createPrivateKey(config.key));
  } catch (error) {
    throw new MqfedError('TLS_MATERIAL_INVALID', `${files.certFile}: not a certificate`, error);
  }
  if (!matches) {
    throw new MqfedError(
      'TLS_MATERIAL_INVALID',
      `${files.keyFile} is not the key of ${files.certFile}`,
    );
  }
  return config;
}

/** Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}
