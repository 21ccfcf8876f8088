import { readFile } from 'node:fs/promises';
import { type Results, resultsSchema, upgradeResults } from '../harness/results/index.ts';
import { ReportError } from './report-error.ts';

/** How many schema problems one error message lists before it says "and N more". */
const MAX_LISTED_ISSUES = 3;

/** `['variants', 0, 'latencyMs', 'p99']` → `variants[0].latencyMs.p99`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(document)' : out;
}

/**
 * Validates a parsed results document. A broken one is refused with `RESULTS_INVALID` and a
 * message that names each offending field, e.g. `variants[0].latencyMs.p99: expected number`.
 * `source` (a file name) prefixes the message.
 */
export function parseResults(value: unknown, source = 'results'): Results {
  // A v1 document (an old CI baseline) reads as a run of one repetition.
  const parsed = resultsSchema.safeParse(upgradeResults(value));
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const listed = issues
    .slice(0, MAX_LISTED_ISSUES)
    .map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  const more =
    issues.length > MAX_LISTED_ISSUES ? `; and ${issues.length - MAX_LISTED_ISSUES} more` : '';
  throw new ReportError('RESULTS_INVALID', `${source}: ${listed.join('; ')}${more}`);
}

/** Parses JSON text and validates it as a results document. */
export function parseResultsJson(text: string, source = 'results'): Results {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ReportError(
      'RESULTS_UNREADABLE',
      `${source}: not JSON (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  return parseResults(value, source);
}

/** Reads and validates one results file. */
export async function loadResults(path: string): Promise<Results> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ReportError(
      'RESULTS_UNREADABLE',
      `${path}: cannot read (${typeof code === 'string' ? code : (error as Error).message})`,
      { cause: error },
    );
  }
  return parseResultsJson(text, path);
}
