import fc from 'fast-check';
import type { FuzzSource } from './fuzz-source.ts';
import { oddTopics, topicFilters } from './fuzz-topics.ts';
import { BROKER_ID, type FuzzReady, WRITER_ID } from './fuzz-wire.ts';

/**
 * HTTP requests for the APIs of auth, discovery and the broker (docs/protocol.md): methods, paths
 * with odd parameters, authorization headers (none, forged, another audience's token, the right
 * one), content types, and bodies built from each route's schema with fields that are right or
 * of any JSON type, beside random JSON, random bytes and truncated JSON. [design] Requests that
 * would change the federation for good are kept out: with the real admin credential, bodies are
 * always invalid and ids never registered, so the run measures the services, not a growing
 * registry; POST /token with credentials is rare, as each costs a deliberate scrypt.
 */

export interface FuzzRequest {
  kind: string;
  /** Base URL of the service. */
  base: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** For examples: which authorization was used, without the secret itself. */
  authLabel: string;
}

const jsonValues = fc.jsonValue({ maxDepth: 3 });
const filterLists = fc.array(topicFilters, { maxLength: 6 });
const anyTopics = fc.oneof(filterLists, fc.array(oddTopics, { maxLength: 3 }), jsonValues);
const linkUrls = fc.oneof(
  fc.constantFrom('ws://127.0.0.1:9/peer', 'wss://127.0.0.1:9/peer', 'ws://[::1]:9/peer'),
  fc.constantFrom('http://127.0.0.1:9', 'ws://', 'ws:///x', 'javascript:alert(1)', ''),
  fc.webUrl().map((url) => url.replace(/^https?:\/\/[^/]*/, 'ws://127.0.0.1:9')),
  jsonValues,
);
const ttls = fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(2 ** 53), jsonValues);

const bodies = {
  register: fc.record(
    { linkUrl: linkUrls, ttlMs: ttls, topics: anyTopics, interest: anyTopics },
    { requiredKeys: [] },
  ),
  advertise: fc.record({ add: anyTopics, remove: anyTopics }, { requiredKeys: [] }),
  token: fc.record(
    {
      id: fc.oneof(fc.constantFrom(WRITER_ID, 'nobody'), fc.string({ maxLength: 300 }), jsonValues),
      secret: fc.oneof(fc.string({ maxLength: 64 }), jsonValues),
      audience: fc.oneof(
        fc.constantFrom('auth', 'discovery', `broker:${BROKER_ID}`, 'broker:', 'broker:../x'),
        jsonValues,
      ),
    },
    { requiredKeys: [] },
  ),
  exchange: fc.record(
    {
      audience: fc.oneof(
        fc.constantFrom('auth', 'discovery', `broker:${BROKER_ID}`, 'broker:nx', 'broker:'),
        jsonValues,
      ),
    },
    { requiredKeys: [] },
  ),
  service: fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 140 }), jsonValues),
      role: fc.oneof(fc.constantFrom('broker', 'discovery', 'admin'), jsonValues),
      topics: fc.oneof(
        fc.record({ pub: anyTopics, sub: anyTopics }, { requiredKeys: [] }),
        jsonValues,
      ),
    },
    { requiredKeys: [] },
  ),
  any: fc.oneof(
    jsonValues,
    fc.json({ maxDepth: 4 }).map((text) => JSON.parse(text) as unknown),
  ),
};

const filterQueries = fc.oneof(topicFilters, oddTopics);
const ids = fc.oneof(
  fc.constantFrom(WRITER_ID, BROKER_ID, 'nx-service', '', '..', '%2e%2e', '%zz', '%00', 'a%2Fb'),
  fc.string({ maxLength: 20 }).map((id) => encodeURIComponent(id.toWellFormed())),
  fc.nat({ max: 400 }).map((length) => 'i'.repeat(length)),
);
const oddPaths = fc.oneof(
  fc.constantFrom(
    '/',
    '//',
    '/%',
    '/%zz',
    '/..%2f..%2fetc',
    '/brokers/',
    '/admin',
    '/token/x',
    '/*',
  ),
  fc.webPath(),
  fc.string({ maxLength: 60 }).map((path) => `/${encodeURIComponent(path.toWellFormed())}`),
);
const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND'] as const;

/** A route of one service: method, path and the body shape it takes. */
interface Route {
  method: string;
  path: (source: FuzzSource) => string;
  body?: fc.Arbitrary<unknown>;
}

const brokerPath = (suffix: string) => (source: FuzzSource) =>
  `/brokers/${source.chance(0.7) ? WRITER_ID : source.draw(ids)}${suffix}`;

const discoveryRoutes: Route[] = [
  { method: 'PUT', path: brokerPath(''), body: bodies.register },
  { method: 'POST', path: brokerPath('/lease') },
  { method: 'DELETE', path: brokerPath('') },
  { method: 'PATCH', path: brokerPath('/topics'), body: bodies.advertise },
  { method: 'PATCH', path: brokerPath('/interest'), body: bodies.advertise },
  {
    method: 'GET',
    path: (source) =>
      source.chance(0.3)
        ? '/brokers'
        : `/brokers?filter=${encodeURIComponent(source.draw(filterQueries).slice(0, 2000).toWellFormed())}`,
  },
  { method: 'GET', path: () => '/watch' },
];
const authRoutes: Route[] = [
  { method: 'POST', path: () => '/token', body: bodies.exchange },
  { method: 'GET', path: () => '/.well-known/jwks.json' },
  { method: 'POST', path: () => '/admin/services', body: bodies.service },
  { method: 'GET', path: () => '/admin/services' },
  { method: 'POST', path: (source) => `/admin/services/${source.draw(ids)}/secret` },
  { method: 'DELETE', path: (source) => `/admin/services/${source.draw(ids)}` },
  { method: 'POST', path: () => '/admin/keys/rotate' },
];
const brokerRoutes: Route[] = [
  { method: 'GET', path: () => '/healthz' },
  { method: 'GET', path: () => '/peer' },
  { method: 'GET', path: () => `/peer?${'x'.repeat(100)}` },
];

/** One request to one of the three services. */
export function fuzzRequest(services: FuzzReady, source: FuzzSource): FuzzRequest {
  const { writer } = services.identities;
  const service = source.weighted([
    [50, 'discovery'],
    [35, 'auth'],
    [15, 'broker'],
  ] as const);
  const base = {
    discovery: services.discoveryUrl,
    auth: services.authUrl,
    broker: services.brokerUrl,
  }[service];
  const routes = { discovery: discoveryRoutes, auth: authRoutes, broker: brokerRoutes }[service];
  const route = source.chance(0.1)
    ? { method: source.pick(methods), path: (s: FuzzSource) => s.draw(oddPaths) }
    : source.pick(routes);
  let method = route.method;
  if (source.chance(0.05)) method = source.pick(methods);
  const path = route.path(source);

  // Who is calling: the right token for this service is the common case, so the routes' logic
  // is reached; the rest must be refused before any of it runs.
  const rightToken =
    service === 'discovery'
      ? writer.tokens.discovery!
      : service === 'auth'
        ? writer.tokens.auth!
        : writer.tokens[`broker:${BROKER_ID}`]!;
  const isAdminRoute = path.startsWith('/admin');
  const authLabel = source.weighted([
    [isAdminRoute ? 20 : 60, 'right-token'],
    [10, 'none'],
    [8, 'forged'],
    [8, 'other-audience'],
    [4, 'odd-header'],
    [isAdminRoute ? 40 : 1, 'admin-credential'],
    [isAdminRoute ? 20 : 1, 'wrong-admin-credential'],
  ] as const);
  const headers: Record<string, string> = {};
  const otherAudience = service === 'discovery' ? writer.tokens.auth! : writer.tokens.discovery!;
  if (authLabel === 'right-token') headers.authorization = `Bearer ${rightToken}`;
  else if (authLabel === 'forged')
    headers.authorization = `Bearer ${source.bytes(20).toString('base64url')}.e30.${source.bytes(8).toString('base64url')}`;
  else if (authLabel === 'other-audience') headers.authorization = `Bearer ${otherAudience}`;
  else if (authLabel === 'odd-header')
    headers.authorization = source.pick([
      'Bearer',
      'Bearer  ',
      'Basic abc',
      `Bearer ${'x'.repeat(9000)}`,
    ]);
  else if (authLabel === 'admin-credential')
    headers.authorization = `Bearer ${services.adminCredential}`;
  else if (authLabel === 'wrong-admin-credential')
    headers.authorization = `Bearer ${services.adminCredential.slice(0, -1)}x`;

  let body: Buffer | undefined;
  const bodyKind = source.weighted([
    [route.body === undefined ? 5 : 70, 'structured'],
    [route.body === undefined ? 70 : 5, 'none'],
    [8, 'random-json'],
    [5, 'truncated-json'],
    [5, 'random-bytes'],
    [0.2, 'too-large'],
  ] as const);
  // Credentials cost the auth service an scrypt each: mostly token exchanges instead.
  let shape = route.body ?? bodies.any;
  if (shape === bodies.exchange && source.chance(0.03)) shape = bodies.token;
  if (bodyKind === 'structured' || bodyKind === 'truncated-json') {
    let value = source.draw(shape);
    // With the real admin credential nothing may be registered: an unknown field makes sure.
    if (authLabel === 'admin-credential' && typeof value === 'object' && value !== null) {
      value = { ...value, fuzz: true };
    } else if (authLabel === 'admin-credential') value = { fuzz: value };
    const text = JSON.stringify(value) ?? 'null';
    body = Buffer.from(
      bodyKind === 'truncated-json' ? text.slice(0, source.int(text.length)) : text,
    );
  } else if (bodyKind === 'random-json') {
    body = Buffer.from(JSON.stringify(source.draw(bodies.any)) ?? 'null');
  } else if (bodyKind === 'random-bytes') {
    body = source.bytes(source.int(300));
  } else if (bodyKind === 'too-large') {
    body = Buffer.alloc(1024 * 1024 + 1 + source.int(1000), 0x20);
  }
  if (body !== undefined) {
    headers['content-type'] = source.weighted([
      [85, 'application/json'],
      [4, 'text/plain'],
      [3, 'application/json; charset=utf-16'],
      [3, 'application/x-www-form-urlencoded'],
      [3, 'multipart/form-data; boundary=x'],
      [2, 'application/vnd.api+json'],
    ] as const);
  }
  // With the real admin credential, ids are never ones that exist: nothing is rotated or revoked.
  let safePath = path;
  if (authLabel === 'admin-credential' && /^\/admin\/services\/[^/]+/.test(path)) {
    safePath = path.replace(/^\/admin\/services\/[^/]*/, '/admin/services/nx-fuzz');
  }
  if (authLabel === 'admin-credential' && path.startsWith('/admin/keys')) {
    safePath = '/admin/keys/rotate-not';
  }
  return {
    kind: `${service} ${method} ${routeName(safePath)}`,
    base,
    method,
    path: safePath,
    headers,
    ...(body === undefined ? {} : { body }),
    authLabel,
  };
}

/** A fixed-set name of a path for counting: parameters replaced, unknown paths lumped. */
function routeName(path: string): string {
  const pathname = path.split('?')[0] ?? '';
  if (/^\/brokers\/[^/]*$/.test(pathname)) return '/brokers/:id';
  const sub = /^\/brokers\/[^/]*\/(lease|topics|interest)$/.exec(pathname);
  if (sub !== null) return `/brokers/:id/${sub[1]}`;
  if (/^\/admin\/services\/[^/]*(\/secret)?$/.test(pathname)) {
    return pathname.endsWith('/secret') ? '/admin/services/:id/secret' : '/admin/services/:id';
  }
  const known = [
    '/brokers',
    '/watch',
    '/token',
    '/.well-known/jwks.json',
    '/admin/services',
    '/admin/keys/rotate',
    '/healthz',
    '/peer',
  ];
  return known.includes(pathname) ? pathname : 'other';
}
