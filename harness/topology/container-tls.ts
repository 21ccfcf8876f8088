import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CertificateAndKey,
  createCertificateAuthority,
  issueCertificate,
  type TlsTrust,
} from '../../system/common/index.ts';
import type { ArchiveFile } from './container-archive.ts';

/** Where a service container finds its TLS files (the image's TLS folder, uid 1000's). */
const IN_CONTAINER_DIR = '/data/tls';
/** The image's user (docker/Dockerfile), who owns the copied files. */
const IMAGE_UID = 1000;

/** What one container needs for TLS: the files to copy in and the variables that name them. */
export interface ContainerTls {
  files: ArchiveFile[];
  environment: Record<string, string>;
}

export interface RunTls {
  /** The run's CA as the harness trusts it (admin calls, metrics scrapes). */
  trust: TlsTrust;
  /** The CA certificate on this machine: the `?cafile=` of the brokers' URLs. */
  caPath: string;
  /** A service container's CA, certificate and key, valid for `hosts`; made once per name. */
  service(name: string, hosts: readonly string[]): ContainerTls;
  /** A client container's CA, at the same path as on this machine, so broker URLs hold. */
  client(): ContainerTls;
  /** Deletes the CA from this machine. */
  close(): Promise<void>;
}

/**
 * The CA of one containers-topology run, made on this machine (the harness), and a certificate
 * per service container, issued for its network alias and address and for the network's
 * gateway, where the delay proxies and link relays the harness puts in front of it listen.
 * [design] One CA per run that every container and the harness trust, like the single CA of
 * the processes topology's run directory; its key never enters a container, and goes with the
 * run.
 * The files are copied in owned by the image's user, the key 0400 (container-archive.ts).
 */
export async function prepareRunTls(): Promise<RunTls> {
  const dir = await mkdtemp(join(tmpdir(), 'mqfed-containers-tls-'));
  const ca = createCertificateAuthority();
  const caPath = join(dir, 'ca.pem');
  await writeFile(caPath, ca.cert);
  const issued = new Map<string, CertificateAndKey>();
  return {
    trust: { ca: ca.cert },
    caPath,
    service(name, hosts) {
      let leaf = issued.get(name);
      if (leaf === undefined) {
        leaf = issueCertificate(ca, { commonName: `mqfed ${name}`, hosts });
        issued.set(name, leaf);
      }
      const at = (file: string) => `${IN_CONTAINER_DIR}/${file}`;
      return {
        files: [
          owned(at('ca.pem'), ca.cert, 0o444),
          owned(at(`${name}.pem`), leaf.cert, 0o444),
          owned(at(`${name}-key.pem`), leaf.key, 0o400),
        ],
        environment: {
          MQFED_TLS_CA: at('ca.pem'),
          MQFED_TLS_CERT: at(`${name}.pem`),
          MQFED_TLS_KEY: at(`${name}-key.pem`),
        },
      };
    },
    client: () => ({
      files: [owned(caPath, ca.cert, 0o444)],
      environment: {},
    }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

const owned = (path: string, content: string, mode: number): ArchiveFile => ({
  path,
  content,
  mode,
  uid: IMAGE_UID,
  gid: IMAGE_UID,
});
