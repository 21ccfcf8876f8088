import type { FastifyRequest } from 'fastify';
import { requireRole, type TokenVerifier } from '../auth/index.ts';
import { bearerTokenOf, requestJson, routeAuth, type TlsTrust } from '../common/index.ts';
import { MqfedError, type TokenClaims, toMqfedError } from '../protocol/index.ts';
import type { BrokerMetrics } from './broker-metrics.ts';

/**
 * The broker's request/response API for peers, on the HTTP port that serves the peer-link
 * upgrade (`/peer`), under `/peer-api/...`. [design] Moving a session or answering a retained
 * fetch is one request and one answer: no ordering against the link's publish stream is needed,
 * so it stays out of the binary frame codec of the hot path. It is authorized like a link: the
 * caller's broker token must be addressed to this broker (`aud` `<base>:broker:<id>`), unrevoked,
 * of role `broker`, and not this broker's own; each route then checks the caller's scopes.
 */
export const PEER_API_PREFIX = '/peer-api';

export interface PeerApi {
  /** Route options that authenticate the caller before its body is parsed. */
  readonly onlyPeers: { onRequest: (request: FastifyRequest) => Promise<void> };
  /** The verified claims of a request that passed `onlyPeers`. */
  claimsOf(request: FastifyRequest): TokenClaims;
}

export interface PeerApiOptions {
  selfId: string;
  /** The broker's verifier: audience `broker:<selfId>`, revocations applied. */
  verifier: TokenVerifier;
  metrics: Pick<BrokerMetrics, 'denials'>;
}

export function createPeerApi(options: PeerApiOptions): PeerApi {
  const callers = routeAuth(async (request) => {
    try {
      const claims = requireRole(
        await options.verifier.verify(bearerTokenOf(request.headers)),
        'broker',
      );
      if (claims.sub === options.selfId) {
        throw new MqfedError('IDENTITY_MISMATCH', 'a broker does not call its own peer API');
      }
      return claims;
    } catch (error) {
      const failure = toMqfedError(error);
      options.metrics.denials.inc({ code: failure.code });
      throw failure;
    }
  });
  return { onlyPeers: callers.only(undefined), claimsOf: callers.callerOf };
}

/** What calling a peer's API needs: where the peer is and a token addressed to it. */
export interface PeerApiCaller {
  /**
   * The peer's link URL (`ws(s)://host:port/peer`, routed), or undefined if unknown; `hint` is
   * one it was told (by the session directory), used unless a route overrides it.
   */
  linkUrlOf(peerId: string, hint?: string): Promise<string | undefined>;
  tokenFor(peerId: string): Promise<string>;
  tls?: TlsTrust | undefined;
}

export interface PeerCall {
  body: unknown;
  timeoutMs: number;
  /** Longer answers are refused while read (BODY_TOO_LARGE): the peer may be hostile. */
  maxResponseBytes: number;
}

/** The HTTP(S) URL of `path` on the peer API of the broker whose link URL is `linkUrl`. */
export function peerApiUrl(linkUrl: string, path: string): string {
  const url = new URL(linkUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = `${PEER_API_PREFIX}${path}`;
  url.search = '';
  return url.toString();
}

/** POSTs `call.body` to `path` of peer `peerId`'s API; the answer, or its MqfedError. */
export async function callPeer<T>(
  caller: PeerApiCaller,
  peerId: string,
  path: string,
  call: PeerCall & { linkUrlHint?: string | undefined },
): Promise<T> {
  const linkUrl = await caller.linkUrlOf(peerId, call.linkUrlHint);
  if (linkUrl === undefined) {
    throw new MqfedError('PEER_UNREACHABLE', `no link URL known for broker ${peerId}`);
  }
  return requestJson<T>(peerApiUrl(linkUrl, path), {
    method: 'POST',
    body: call.body,
    bearer: await caller.tokenFor(peerId),
    timeoutMs: call.timeoutMs,
    maxResponseBytes: call.maxResponseBytes,
    tls: caller.tls,
  });
}
