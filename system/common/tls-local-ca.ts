import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CertificateAndKey,
  createCertificateAuthority,
  issueCertificate,
} from './tls-certificates.ts';
import type { TlsConfig } from './tls-config.ts';

/** Folder of the local CA inside a data directory. */
export const TLS_DIR = 'tls';
/** Its files: the CA certificate (what clients trust) and its key (0600). */
export const CA_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

// A certificate this close to its end is reissued at start rather than left to expire running.
const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface LocalTls extends TlsConfig {
  /** Where the CA certificate is: what clients such as `mosquitto_sub --cafile` are given. */
  readonly caPath: string;
  /** True when this call created the CA (first start). */
  readonly createdCa: boolean;
}

export interface LocalTlsOptions {
  /** The folder of the CA and the certificates, by convention `<data-dir>/tls` (TLS_DIR). */
  dir: string;
  /** File name stem of the service certificate (`<name>.pem`, `<name>-key.pem`). */
  name: string;
  /** Names and addresses clients reach the service by: all go into its subjectAltName. */
  hosts: readonly string[];
  now?: Date;
}

/**
 * The embedded default: a local CA in `dir`, made on first start and reused after,
 * and a certificate for this service signed by it, reissued when the hosts it must cover changed
 * or it nears its end. Keys are written 0600. [design]
 */
export async function ensureLocalTls(options: LocalTlsOptions): Promise<LocalTls> {
  const { dir } = options;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = options.now ?? new Date();
  const { ca, created } = await loadOrCreateCa(dir, now);
  const hosts = [...new Set(options.hosts.map((host) => host.replace(/^\[|\]$/g, '')))];
  const certPath = join(dir, `${options.name}.pem`);
  const keyPath = join(dir, `${options.name}-key.pem`);
  let leaf = await readPair(certPath, keyPath);
  if (leaf === undefined || !stillGood(leaf.cert, ca.cert, hosts, now)) {
    // A CN with a space can never match a host name: only the subjectAltName counts.
    leaf = issueCertificate(ca, { commonName: `mqfed ${options.name}`, hosts, now });
    await writeFile(keyPath, leaf.key, { mode: 0o600 });
    await writeFile(certPath, leaf.cert);
  }
  return {
    ca: ca.cert,
    cert: leaf.cert,
    key: leaf.key,
    caPath: join(dir, CA_FILE),
    createdCa: created,
  };
}

async function loadOrCreateCa(
  dir: string,
  now: Date,
): Promise<{ ca: CertificateAndKey; created: boolean }> {
  const existing = await readPair(join(dir, CA_FILE), join(dir, CA_KEY_FILE));
  if (existing !== undefined) return { ca: existing, created: false };
  const ca = createCertificateAuthority(undefined, now);
  try {
    // `wx`: two services starting at once on one data directory must not both write a CA.
    await writeFile(join(dir, CA_KEY_FILE), ca.key, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadOrCreateCaAfterRace(dir);
  }
  await writeFile(join(dir, CA_FILE), ca.cert);
  return { ca, created: true };
}

async function loadOrCreateCaAfterRace(
  dir: string,
): Promise<{ ca: CertificateAndKey; created: boolean }> {
  // The other writer writes the key first, then the certificate: wait for the certificate.
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const pair = await readPair(join(dir, CA_FILE), join(dir, CA_KEY_FILE));
    if (pair !== undefined) return { ca: pair, created: false };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${join(dir, CA_KEY_FILE)} exists without ${CA_FILE}`);
}

async function readPair(certPath: string, keyPath: string): Promise<CertificateAndKey | undefined> {
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function stillGood(certPem: string, caPem: string, hosts: readonly string[], now: Date): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkIssued(new X509Certificate(caPem))) return false;
    if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
    return hosts.every((host) =>
      host.includes(':') || /^[\d.]+$/.test(host)
        ? cert.checkIP(host) !== undefined
        : cert.checkHost(host, { subject: 'never' }) !== undefined,
    );
  } catch {
    return false;
  }
}
