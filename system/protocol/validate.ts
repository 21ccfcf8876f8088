import type { z } from 'zod';
import { MqfedError } from './errors.ts';

/**
 * Parses untrusted input (an HTTP body, a control frame, a file) with a schema. A failure becomes
 * INVALID_REQUEST with a message that names the offending field, e.g. `ttlMs: expected number`.
 */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new MqfedError('INVALID_REQUEST', describeIssues(result.error.issues));
}

/** One line per problem, each starting with the dotted path of the field it concerns. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
