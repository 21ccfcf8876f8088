import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import {
  derBitString,
  derBoolean,
  derChildren,
  derExplicit,
  derImplicit,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUnsignedInteger,
  derUtf8String,
} from './tls-der.ts';

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface CertificateAndKey {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** Shown as the subject's CN; names nothing that clients check. */
  commonName: string;
  /** Host names and IP addresses the certificate is valid for (its subjectAltName). */
  hosts: readonly string[];
  validDays?: number;
  now?: Date;
}

const DAY_MS = 86_400_000;
// [design] A local CA outlives many leaf certificates; leaves are reissued when near expiry.
export const CA_VALID_DAYS = 3650;
export const LEAF_VALID_DAYS = 365;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

// keyUsage bits, numbered from the most significant bit of the first byte (RFC 5280 §4.2.1.3).
const DIGITAL_SIGNATURE = 0x80;
const KEY_CERT_SIGN = 0x04;
const CRL_SIGN = 0x02;

/**
 * [design] Certificates are built here, over Node's crypto (P-256 keys, ECDSA-SHA256
 * signatures): @peculiar/x509 needs a process-wide `reflect-metadata` polyfill, node-forge makes
 * RSA keys in pure JavaScript (slow at first start), and the container image has no `openssl`.
 */
export function createCertificateAuthority(
  commonName = 'mqfed local CA',
  now = new Date(),
): CertificateAndKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = keyIdOf(spki);
  const name = distinguishedName(commonName);
  const cert = signCertificate({
    issuer: name,
    subject: name,
    spki,
    notBefore: now,
    notAfter: new Date(now.getTime() + CA_VALID_DAYS * DAY_MS),
    extensions: [
      extension(
        OID.basicConstraints,
        true,
        derSequence(derBoolean(true), derUnsignedInteger(Buffer.from([0]))),
      ),
      extension(OID.keyUsage, true, keyUsage(KEY_CERT_SIGN | CRL_SIGN)),
      extension(OID.subjectKeyId, false, derOctetString(keyId)),
    ],
    signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A server-and-client certificate for `hosts`, signed by `ca`. */
export function issueCertificate(ca: CertificateAndKey, options: IssueOptions): CertificateAndKey {
  const now = options.now ?? new Date();
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const caCert = new X509Certificate(ca.cert);
  const caKeyId = keyIdOf(caCert.publicKey.export({ type: 'spki', format: 'der' }));
  const cert = signCertificate({
    issuer: subjectOf(caCert.raw),
    subject: distinguishedName(options.commonName),
    spki,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (options.validDays ?? LEAF_VALID_DAYS) * DAY_MS),
    extensions: [
      extension(OID.basicConstraints, true, derSequence()),
      extension(OID.keyUsage, true, keyUsage(DIGITAL_SIGNATURE)),
      extension(
        OID.extKeyUsage,
        false,
        derSequence(derOid(OID.serverAuth), derOid(OID.clientAuth)),
      ),
      extension(OID.subjectAltName, false, subjectAltName(options.hosts)),
      extension(OID.subjectKeyId, false, derOctetString(keyIdOf(spki))),
      extension(OID.authorityKeyId, false, derSequence(derImplicit(0, caKeyId))),
    ],
    signingKey: ca.key,
  });
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

interface CertificateFields {
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
  signingKey: string;
}

function signCertificate(fields: CertificateFields): string {
  const algorithm = derSequence(derOid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = derSequence(
    derExplicit(0, derUnsignedInteger(Buffer.from([2]))),
    derUnsignedInteger(serial),
    algorithm,
    fields.issuer,
    derSequence(derTime(fields.notBefore), derTime(fields.notAfter)),
    fields.subject,
    fields.spki,
    derExplicit(3, derSequence(...fields.extensions)),
  );
  // Node signs ECDSA in DER (r, s) form, which is what X.509 carries.
  const signature = sign('sha256', tbs, fields.signingKey);
  const der = derSequence(tbs, algorithm, derBitString(signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function distinguishedName(commonName: string): Buffer {
  return derSequence(
    derSet(derSequence(derOid(OID.organization), derUtf8String('mqfed'))),
    derSet(derSequence(derOid(OID.commonName), derUtf8String(commonName))),
  );
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

function keyUsage(bits: number): Buffer {
  let unused = 0;
  while (unused < 7 && ((bits >> unused) & 1) === 0) unused += 1;
  return derBitString(Buffer.from([bits]), unused);
}

// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
function keyIdOf(spki: Buffer): Buffer {
  return createHash('sha1').update(spki).digest();
}

function subjectAltName(hosts: readonly string[]): Buffer {
  const names = [...new Set(hosts)].map((host) =>
    isIP(host) === 0 ? derImplicit(2, Buffer.from(host, 'ascii')) : derImplicit(7, ipBytes(host)),
  );
  return derSequence(...names);
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail] = ip.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return Buffer.concat(all.map((group) => Buffer.from(group.padStart(4, '0'), 'hex')));
}

// The subject Name of a DER certificate, byte for byte: it becomes the issuer of what it signs.
function subjectOf(certificate: Buffer): Buffer {
  const [tbs] = derChildren(certificate);
  const fields = derChildren(tbs ?? Buffer.alloc(0));
  // version [0], serialNumber, signature, issuer, validity, subject
  const subject = fields[fields[0]?.[0] === 0xa0 ? 5 : 4];
  if (subject === undefined) throw new Error('not an X.509 certificate');
  return subject;
}
