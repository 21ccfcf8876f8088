import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/**
 * The project's image names, for TypeScript code (harness topologies, docker tests). They are
 * read from docker/.env, the one place they are written, which the shell scripts and compose
 * read too. [design] Sync read at import: a few hundred bytes, once, and callers get constants.
 */
const names = parseEnv(readFileSync(new URL('./.env', import.meta.url), 'utf8'));

function required(key: string): string {
  const value = names[key];
  if (value === undefined || value === '') throw new Error(`docker/.env has no ${key}`);
  return value;
}

/** The image every mqfed service and command runs from, as `name:tag`, e.g. `mqfed:latest`. */
export const MQFED_IMAGE = required('MQFED_IMAGE');
/** The official Node 24 base image used where a registry is reachable. */
export const MQFED_OFFICIAL_BASE = required('MQFED_OFFICIAL_BASE');
/** Repository of the base docker/build-local-base.sh makes; tagged `node-<version>`. */
export const MQFED_LOCAL_BASE_REPO = required('MQFED_LOCAL_BASE_REPO');
