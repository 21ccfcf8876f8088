import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { explainUnknownFields } from './unknown-fields.ts';

const schema = z.strictObject({
  groups: z.array(z.strictObject({ rate: z.number() })).default([]),
  shape: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('circle'), radius: z.number() }),
    z.strictObject({ kind: z.literal('square'), side: z.number() }),
  ]),
  tags: z.record(z.string(), z.strictObject({ colour: z.string().optional() })).optional(),
});

/** The issues explained, as `path: message` lines. */
function explained(input: unknown): string[] {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return explainUnknownFields(schema, input, result.error.issues).map(
    (issue) => `${issue.path.join('.')}: ${issue.message}`,
  );
}

describe('explainUnknownFields', () => {
  it('gives each unknown key an issue of its own, at its own path', () => {
    expect(explained({ shape: { kind: 'circle', radius: 1 }, grups: [], tgas: {} })).toEqual([
      'grups: unknown field; did you mean "groups"?',
      'tgas: unknown field; did you mean "tags"?',
    ]);
  });

  it('looks through arrays, records and defaults to the object that holds the key', () => {
    expect(
      explained({
        groups: [{ rate: 1 }, { rate: 2, rat: 3 }],
        shape: { kind: 'circle', radius: 1 },
        tags: { red: { color: 'red' } },
      }),
    ).toEqual([
      'groups.1.rat: unknown field; did you mean "rate"?',
      'tags.red.color: unknown field; did you mean "colour"?',
    ]);
  });

  it('suggests from the branch of a discriminated union the input chose', () => {
    expect(explained({ shape: { kind: 'square', side: 1, sides: 4 } })).toEqual([
      'shape.sides: unknown field; did you mean "side"?',
    ]);
  });

  it('lists the declared keys when none is close', () => {
    expect(explained({ shape: { kind: 'circle', radius: 1, elephant: true } })).toEqual([
      'shape.elephant: unknown field; known fields: kind, radius',
    ]);
  });

  it('leaves every other issue as zod wrote it', () => {
    const input = { shape: { kind: 'circle', radius: 'big' } };
    const issues = schema.safeParse(input).error?.issues ?? [];
    expect(explainUnknownFields(schema, input, issues)).toEqual(issues);
  });
});
