import { Agent, request } from 'node:http';
import type { Budget } from './fuzz-budget.ts';
import { type FuzzRequest, fuzzRequest } from './fuzz-http-requests.ts';
import { ANSWER_TIMEOUT_MS, rawRequest } from './fuzz-sockets.ts';
import { FuzzSource, laneSeed } from './fuzz-source.ts';
import { excerpt, type Tally } from './fuzz-tally.ts';
import type { FuzzReady } from './fuzz-wire.ts';

/** Requests in flight at once. [design] Enough to keep two cores busy without queueing for long. */
const LANES = 8;

/**
 * Fuzzes the HTTP APIs of auth, discovery and the broker with generated requests
 * (fuzz-http-requests.ts) over keep-alive connections, and now and then raw bytes that are not
 * quite HTTP. Every answer's status is counted; a 5xx is kept as an example with its request.
 */
export async function fuzzHttp(
  services: FuzzReady,
  budget: Budget,
  seed: number,
  tally: Tally,
): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: LANES });
  try {
    await Promise.all(
      Array.from({ length: LANES }, async (_, index) => {
        const source = new FuzzSource(laneSeed(seed, 'http', index));
        while (budget.take(1)) {
          if (source.chance(0.01)) await rawGarbage(services, source, tally);
          else await one(fuzzRequest(services, source), agent, tally);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}

async function one(fuzz: FuzzRequest, agent: Agent, tally: Tally): Promise<void> {
  tally.sent(fuzz.kind);
  const answer = await send(fuzz, agent);
  const describe = () => ({
    what: `${fuzz.method} ${fuzz.base} (authorization: ${fuzz.authLabel})`,
    input: `${fuzz.path} ${excerpt(fuzz.body?.toString() ?? '')} ${fuzz.headers['content-type'] ?? ''}`,
    answer: `${answer.status} ${answer.body.slice(0, 300)}`,
  });
  if (answer.status === -1) tally.anomaly(describe());
  else tally.status(answer.status, describe);
}

/** Status and body; -1 when no answer came in time, 0 when the connection failed. */
function send(fuzz: FuzzRequest, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (status: number, body: string) => {
      if (settled) return;
      settled = true;
      resolve({ status, body });
    };
    let req: ReturnType<typeof request>;
    try {
      req = request(`${fuzz.base}${fuzz.path}`, {
        method: fuzz.method,
        headers:
          fuzz.body === undefined
            ? fuzz.headers
            : { ...fuzz.headers, 'content-length': String(fuzz.body.length) },
        agent,
        timeout: ANSWER_TIMEOUT_MS,
      });
    } catch (error) {
      // The client refused to send it (an invalid path or header): nothing reached the service.
      settle(0, String(error));
      return;
    }
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => settle(response.statusCode ?? 0, Buffer.concat(chunks).toString()));
      response.on('error', () => settle(response.statusCode ?? 0, ''));
    });
    req.on('timeout', () => {
      req.destroy();
      settle(-1, 'no answer in time');
    });
    req.on('error', (error) => settle(0, String(error)));
    req.end(fuzz.body);
  });
}

async function rawGarbage(services: FuzzReady, source: FuzzSource, tally: Tally): Promise<void> {
  tally.sent('raw-bytes');
  const base = source.pick([services.authUrl, services.discoveryUrl, services.brokerUrl]);
  const bytes = source.mutate(
    Buffer.from(
      `PUT /brokers/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}`,
    ),
  );
  const status = await rawRequest(base, bytes);
  if (status === -1) tally.anomaly({ what: 'raw request hung', input: excerpt(bytes), answer: '' });
  else
    tally.status(status, () => ({
      what: `raw request to ${base}`,
      input: excerpt(bytes),
      answer: String(status),
    }));
}
