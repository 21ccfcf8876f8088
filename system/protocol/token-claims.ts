import { z } from 'zod';
import { isValidTopicFilter } from './topic-filter.ts';

/**
 * What a registered service is. A token's role decides which endpoints it may call. [design]
 * A `client` is an MQTT client of the brokers: its scopes gate what it may publish and subscribe
 * there, and no endpoint of auth, discovery or a peer link accepts it.
 */
export const serviceRoles = ['broker', 'discovery', 'client'] as const;
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

/**
 * Who a token is for. Every token names exactly one recipient in `aud` (`<base>:<target>`), and
 * every service accepts only its own: a token shown to a peer or to discovery is worthless
 * anywhere else, and the recipient cannot pass it on as the sender (docs/security.md). [design]
 * - `auth`: the auth service itself, which exchanges it for tokens to the other targets;
 * - `discovery`: the discovery service;
 * - `broker:<id>`: one broker service, on its peer link or its MQTT listener.
 */
export type TokenTarget = 'auth' | 'discovery' | `broker:${string}`;

export const tokenTargetSchema = z
  .string()
  .regex(
    /^(auth|discovery|broker:[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/,
    'auth, discovery, or broker:<service id>',
  )
  .transform((value) => value as TokenTarget);

/** The target a broker's peers and clients ask tokens for. */
export function brokerTarget(id: string): TokenTarget {
  return `broker:${id}`;
}

/** The `aud` claim of tokens for `target` in the federation whose base audience is `base`. */
export function audienceFor(base: string, target: TokenTarget): string {
  return `${base}:${target}`;
}

/** The signature algorithm every mqfed token uses. Verifiers accept nothing else. [design] */
export const TOKEN_ALGORITHM = 'EdDSA';
