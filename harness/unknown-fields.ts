import { z } from 'zod';
import { didYouMean } from './did-you-mean.ts';

/**
 * Turns the `unrecognized_keys` issues of a strict object schema into one issue per unknown key,
 * whose path ends at the key itself and whose message names the declared key it most likely
 * meant: `clients.publishers.0.payloadByte: unknown field; did you mean "payloadBytes"?`.
 * [design] zod reports unknown keys once per object, at the object's path, without the keys it
 * declares; those are found here by walking the schema along the issue's path (and the input,
 * to know which branch of a discriminated union applied). Other issues pass through unchanged.
 */
export function explainUnknownFields(
  schema: z.core.$ZodType,
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
): z.core.$ZodIssue[] {
  return issues.flatMap((issue): z.core.$ZodIssue[] => {
    if (issue.code !== 'unrecognized_keys') return [issue];
    const declared = declaredKeys(schema, input, issue.path);
    return issue.keys.map((key) => ({
      ...issue,
      keys: [key],
      path: [...issue.path, key],
      message: unknownFieldMessage(key, declared),
    }));
  });
}

/** What an unknown key is told: the likely meant key, or else every declared one. */
function unknownFieldMessage(key: string, declared: readonly string[] | undefined): string {
  if (declared === undefined) return 'unknown field';
  const meant = didYouMean(key, declared);
  if (meant !== undefined) return `unknown field; did you mean "${meant}"?`;
  return `unknown field; known fields: ${declared.join(', ')}`;
}

/**
 * The keys declared by the object schema found at `path` (undefined if no object is there). Only
 * the wrappers a declarative schema uses are looked through; anything else ends the walk.
 */
function declaredKeys(
  schema: z.core.$ZodType,
  input: unknown,
  path: readonly PropertyKey[],
): string[] | undefined {
  let here: z.core.$ZodType | undefined = schema;
  let value = input;
  let depth = 0;
  while (here !== undefined) {
    if (here instanceof z.ZodOptional || here instanceof z.ZodNullable) {
      here = here.unwrap();
    } else if (here instanceof z.ZodDefault) {
      here = here.unwrap();
    } else if (here instanceof z.ZodDiscriminatedUnion) {
      here = branchFor(here, value);
    } else if (depth === path.length) {
      return here instanceof z.ZodObject ? Object.keys(here.shape) : undefined;
    } else {
      const step = path[depth++]!;
      value = isRecord(value) ? value[step as string] : undefined;
      if (here instanceof z.ZodObject) here = here.shape[step as string];
      else if (here instanceof z.ZodArray) here = here.element;
      else if (here instanceof z.ZodRecord) here = here.valueType;
      else if (here instanceof z.ZodTuple) here = here.def.items[Number(step)];
      else return undefined;
    }
  }
  return undefined;
}

/** The option of a discriminated union that the input's discriminator selects. */
function branchFor(union: z.ZodDiscriminatedUnion, value: unknown): z.core.$ZodType | undefined {
  if (!isRecord(value)) return undefined;
  const discriminator = union.def.discriminator;
  return union.options.find(
    (option) =>
      option instanceof z.ZodObject &&
      option.shape[discriminator]?.safeParse(value[discriminator]).success === true,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
