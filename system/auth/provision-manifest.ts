import { type FileHandle, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  describeIssues,
  MqfedError,
  type ServiceRole,
  serviceIdSchema,
  serviceRoles,
  type TopicScopes,
  topicFilterSchema,
} from '../protocol/index.ts';

/**
 * The provisioning manifest: services the auth service registers at start with secrets the
 * operator made beforehand (Docker secrets, files under /run/secrets). In a Swarm a broker on
 * another node cannot read a file a one-shot `register` wrote into a volume (volumes belong to
 * one node), so every secret exists before deploy and auth takes it from here. [design]
 *
 *   {"services":[{"id":"b1","role":"broker","topics":{"pub":["#"],"sub":["#"]},
 *                 "secretFile":"/run/secrets/mqfed-b1"}]}
 */
export interface ProvisionedService {
  readonly id: string;
  readonly role: ServiceRole;
  readonly topics: TopicScopes;
  readonly secret: string;
}

export const provisionLimits = {
  /** The manifest is the operator's, but still bounded: each entry costs two scrypt runs. */
  maxManifestBytes: 256 * 1024,
  maxServices: 256,
  minSecretBytes: 16,
  maxSecretBytes: 1024,
} as const;

// [design] strict at every level: a misspelt `secretfile` or `topic` must stop the start, not
// leave a broker without a secret or without scopes.
const entrySchema = z.strictObject({
  // At most 100, as the admin API: the longest id its routes take as a path parameter.
  id: serviceIdSchema.max(100),
  role: z.enum(serviceRoles),
  topics: z
    .strictObject({
      pub: z.array(topicFilterSchema).max(1024).default([]),
      sub: z.array(topicFilterSchema).max(1024).default([]),
    })
    .optional(),
  secretFile: z.string().min(1).max(4096),
});

const manifestSchema = z.strictObject({
  services: z.array(entrySchema).max(provisionLimits.maxServices),
});

const entryKeys = Object.keys(entrySchema.shape);

/**
 * Topic scopes of an entry without `topics`: a broker may offer and consume everything, as
 * `docker/register-brokers.ts` registers brokers, since a broker without scopes cannot federate;
 * any other role gets none, as the admin API's default. [design]
 */
export function defaultTopicsFor(role: ServiceRole): TopicScopes {
  return role === 'broker' ? { pub: ['#'], sub: ['#'] } : { pub: [], sub: [] };
}

/**
 * Reads and checks the manifest at `path` and every secret it names, before anything is
 * registered: one bad entry and nothing changes. Any failure is PROVISION_INVALID naming the
 * file and the problem, never a secret's content. A relative `secretFile` is taken from the
 * manifest's folder.
 */
export async function loadProvisionManifest(path: string): Promise<ProvisionedService[]> {
  const text = (await readBounded(path, 'manifest', provisionLimits.maxManifestBytes)).toString(
    'utf8',
  );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(`manifest ${path} is not JSON (${(error as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw invalid(`manifest ${path}: ${describeIssues(parsed.error.issues)}${hintFor(json)}`);
  }
  const seen = new Set<string>();
  const services: ProvisionedService[] = [];
  for (const entry of parsed.data.services) {
    if (seen.has(entry.id)) throw invalid(`manifest ${path}: the id ${entry.id} appears twice`);
    seen.add(entry.id);
    const secretPath = resolve(dirname(path), entry.secretFile);
    services.push({
      id: entry.id,
      role: entry.role,
      topics: entry.topics ?? defaultTopicsFor(entry.role),
      secret: await readProvisionedSecret(secretPath, entry.id),
    });
  }
  return services;
}

/**
 * A secret file: one trailing newline is dropped (`echo` and editors add one); what remains must
 * be 16 to 1024 bytes of visible ASCII. Space is refused too, since `mqfed broker --secret-file`
 * trims whitespace and would otherwise present another secret than the one registered.
 */
export async function readProvisionedSecret(path: string, id: string): Promise<string> {
  const raw = await readBounded(path, `secret of ${id}`, provisionLimits.maxSecretBytes + 2);
  let end = raw.length;
  if (raw[end - 1] === 0x0a) end -= raw[end - 2] === 0x0d ? 2 : 1;
  const secret = raw.subarray(0, end);
  if (secret.length < provisionLimits.minSecretBytes) {
    throw invalid(
      `secret of ${id} in ${path} is ${secret.length} bytes; at least ${provisionLimits.minSecretBytes} needed`,
    );
  }
  if (secret.length > provisionLimits.maxSecretBytes) {
    throw invalid(
      `secret of ${id} in ${path} is longer than ${provisionLimits.maxSecretBytes} bytes`,
    );
  }
  const bad = secret.findIndex((byte) => byte < 0x21 || byte > 0x7e);
  if (bad !== -1) {
    throw invalid(
      `secret of ${id} in ${path} has a byte other than visible ASCII at offset ${bad}`,
    );
  }
  return secret.toString('latin1');
}

/** Reads at most `limit` bytes of a regular file; more than that is refused. */
async function readBounded(path: string, what: string, limit: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw invalid(`${what}: cannot read ${path} (${codeOf(error)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw invalid(`${what}: ${path} is not a regular file`);
    const buffer = Buffer.alloc(limit + 1);
    const { bytesRead } = await handle.read(buffer, 0, limit + 1, 0);
    if (bytesRead > limit) throw invalid(`${what}: ${path} is larger than ${limit} bytes`);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    if (error instanceof MqfedError) throw error;
    throw invalid(`${what}: cannot read ${path} (${codeOf(error)})`);
  } finally {
    await handle.close();
  }
}

/** For an unknown key, the keys an entry takes: `secretfile` is then easy to spot. */
function hintFor(json: unknown): string {
  const services = (json as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) return ' (expected {"services":[...]})';
  const unknown = services
    .flatMap((entry) =>
      entry !== null && typeof entry === 'object' ? Object.keys(entry as object) : [],
    )
    .find((key) => !entryKeys.includes(key));
  return unknown === undefined
    ? ''
    : ` (unknown key ${JSON.stringify(unknown)}; an entry takes ${entryKeys.join(', ')})`;
}

function invalid(message: string): MqfedError {
  return new MqfedError('PROVISION_INVALID', message);
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
