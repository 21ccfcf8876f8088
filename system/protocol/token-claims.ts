import { z } from 'zod';
import { isValidTopicFilter } from './topic-filter.ts';

/** What a registered service is. A token's role decides which endpoints it may call. [design] */
export const serviceRoles = ['broker', 'discovery'] as const;
export type ServiceRole = (typeof serviceRoles)[number];

export const topicFilterSchema = z
  .string()
  .refine(isValidTopicFilter, { message: 'not a valid MQTT topic filter' });

/**
 * The topic scopes a token grants, as MQTT topic filters: `pub` is what the holder may offer
 * (advertise and forward), `sub` what it may consume from peers. They live under `topics` because
 * the registered claim `sub` already names the subject. [design]
 */
export const topicScopesSchema = z.object({
  pub: z.array(topicFilterSchema).max(1024),
  sub: z.array(topicFilterSchema).max(1024),
});
export type TopicScopes = z.infer<typeof topicScopesSchema>;

/** The claims of every mqfed access token (docs/protocol.md, "Token claims"). */
export const tokenClaimsSchema = z.object({
  iss: z.string().min(1),
  sub: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(1),
  role: z.enum(serviceRoles),
  topics: topicScopesSchema,
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

/** Service ids appear in URLs, logs and MQTT client ids, so they are kept to a safe alphabet. */
export const serviceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" or "-", at most 128');

/** The signature algorithm every mqfed token uses. Verifiers accept nothing else. [design] */
export const TOKEN_ALGORITHM = 'EdDSA';
