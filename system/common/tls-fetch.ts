import { Agent, request } from 'node:https';
import type { TlsTrust } from './tls-config.ts';

/** The part of `fetch` mqfed's clients use; `fetch` itself is one. */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

// One keep-alive agent per CA: calls to one service reuse their TLS sessions. [design] A
// federation has one CA, a test process a few: the map stays tiny.
const agents = new Map<string, Agent>();

function agentFor(ca: string): Agent {
  let agent = agents.get(ca);
  if (agent === undefined) {
    agent = new Agent({ ca, keepAlive: true });
    agents.set(ca, agent);
  }
  return agent;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * `fetch`, but trusting `trust.ca` for https:// URLs (and the system CAs without it). [design]
 * Over node:https rather than an undici dispatcher: no dependency, and the trust is an argument,
 * not process state (NODE_EXTRA_CA_CERTS would apply to every federation in the process).
 */
export function fetchTrusting(trust: TlsTrust | undefined): FetchLike {
  if (trust === undefined) return (url, init) => fetch(url, init);
  const agent = agentFor(trust.ca);
  return (url, init = {}) =>
    url.startsWith('https:') ? httpsFetch(url, init, agent) : fetch(url, init);
}

function httpsFetch(url: string, init: RequestInit, agent: Agent): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const outgoing = request(
      url,
      {
        method: init.method ?? 'GET',
        headers,
        agent,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 500;
          const answerHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            for (const one of Array.isArray(value) ? value : [value ?? '']) {
              answerHeaders.append(name, one);
            }
          }
          resolve(
            new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), {
              status,
              headers: answerHeaders,
            }),
          );
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
