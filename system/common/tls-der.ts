/**
 * The few DER (ASN.1 distinguished encoding) elements an X.509 certificate needs. Each function
 * returns one complete element: tag, length, contents. [design] Node's crypto signs and parses
 * certificates but cannot build one; these ~60 lines do, with no dependency (see
 * tls-certificates.ts for why not a library).
 */

function lengthOf(size: number): Buffer {
  if (size < 0x80) return Buffer.from([size]);
  const bytes: number[] = [];
  for (let rest = size; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derElement(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthOf(contents.length), contents]);
}

export const derSequence = (...items: Buffer[]): Buffer => derElement(0x30, Buffer.concat(items));
export const derSet = (...items: Buffer[]): Buffer => derElement(0x31, Buffer.concat(items));
export const derNull = (): Buffer => Buffer.from([0x05, 0x00]);
export const derBoolean = (value: boolean): Buffer => Buffer.from([0x01, 0x01, value ? 0xff : 0]);
export const derOctetString = (bytes: Buffer): Buffer => derElement(0x04, bytes);
export const derUtf8String = (text: string): Buffer => derElement(0x0c, Buffer.from(text, 'utf8'));

/** A non-negative INTEGER from big-endian bytes (a leading zero keeps it positive). */
export function derUnsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = bytes.subarray(start);
  const positive = (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return derElement(0x02, positive);
}

/** A BIT STRING holding whole bytes, or `unusedBits` fewer bits of the last byte. */
export function derBitString(bytes: Buffer, unusedBits = 0): Buffer {
  return derElement(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

export function derOid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift((value % 128) | (groups.length === 0 ? 0 : 0x80));
      if (value < 128) break;
    }
    bytes.push(...groups);
  }
  return derElement(0x06, Buffer.from(bytes));
}

/** UTCTime up to 2049, GeneralizedTime after, as RFC 5280 §4.1.2.5 requires. */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050
    ? derElement(0x17, Buffer.from(`${iso.slice(2)}Z`, 'ascii'))
    : derElement(0x18, Buffer.from(`${iso}Z`, 'ascii'));
}

/** A context-specific tag: `[n]` explicit (constructed) or implicit (primitive). */
export const derExplicit = (n: number, inner: Buffer): Buffer => derElement(0xa0 | n, inner);
export const derImplicit = (n: number, contents: Buffer): Buffer => derElement(0x80 | n, contents);

/** The elements inside a constructed element (each with its tag and length), in order. */
export function derChildren(element: Buffer): Buffer[] {
  const children: Buffer[] = [];
  const [, start, end] = headerOf(element, 0);
  for (let at = start; at < end; ) {
    const [, , contentEnd] = headerOf(element, at);
    children.push(element.subarray(at, contentEnd));
    at = contentEnd;
  }
  return children;
}

/** [tag, contents start, contents end] of the element at `at`. */
function headerOf(bytes: Buffer, at: number): [number, number, number] {
  const tag = bytes[at];
  const first = bytes[at + 1];
  if (tag === undefined || first === undefined) throw new Error('truncated DER');
  let length = first;
  let start = at + 2;
  if (first & 0x80) {
    length = 0;
    for (let i = 0; i < (first & 0x7f); i += 1) length = length * 256 + (bytes[start + i] ?? 0);
    start += first & 0x7f;
  }
  if (start + length > bytes.length) throw new Error('truncated DER');
  return [tag, start, start + length];
}
