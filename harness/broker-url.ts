import { readFileSync } from 'node:fs';

/**
 * A broker URL may name the CA its certificate is signed by, as mosquitto's `--cafile` does:
 * `mqtts://127.0.0.1:8883?cafile=/path/ca.pem`. [design] The trust travels with the one string
 * that already crosses publisher threads and client hosts, instead of a second argument through
 * every layer, and never as process-wide state. Topologies make such URLs; clients read them.
 */
export function withCaFile(url: string, caPath: string | undefined): string {
  if (caPath === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('cafile', caPath);
  return parsed.toString();
}

// CA files by path: thousands of clients of one run share one read.
const caFiles = new Map<string, string>();

/** The URL without its `cafile`, and the CA that file holds (undefined: system CAs). */
export function caOfBrokerUrl(url: string): { url: string; ca: string | undefined } {
  const parsed = new URL(url);
  const caPath = parsed.searchParams.get('cafile');
  if (caPath === null) return { url, ca: undefined };
  let ca = caFiles.get(caPath);
  if (ca === undefined) {
    ca = readFileSync(caPath, 'utf8');
    caFiles.set(caPath, ca);
  }
  parsed.searchParams.delete('cafile');
  return { url: parsed.toString(), ca };
}
