// `node bench/token-flood-bench.ts`: how long a legitimate `POST /token` takes while others flood
// the auth service with wrong secrets, with the throttle of issue 12 and with it switched off.
// Local addresses 127.0.0.x tell the callers apart (Linux routes all of 127/8 to loopback).
// See docs/benchmarks.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuthServiceOptions,
  createAuthClient,
  startAuthService,
} from '../system/auth/index.ts';

const ADMIN = 'token-flood-bench-admin-credential';
const SAMPLES = 20;
const CONCURRENCY_PER_ADDRESS = 4;

function postToken(url: string, body: unknown, localAddress: string) {
  const started = performance.now();
  return new Promise<{ status: number; ms: number }>((resolve, reject) => {
    const request = httpRequest(
      `${url}/token`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

async function run(label: string, throttle: AuthServiceOptions['tokenThrottle'], flooders: number) {
  const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-token-flood-'));
  const auth = await startAuthService({
    dataDir,
    adminCredential: ADMIN,
    logLevel: 'silent',
    tokenThrottle: throttle,
  });
  try {
    const credentials = await createAuthClient({ url: auth.url }).registerService(ADMIN, {
      id: 'b1',
      role: 'broker',
      topics: { pub: [], sub: [] },
    });
    const legitimate = async () => {
      const times: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const answer = await postToken(auth.url, credentials, '127.0.0.1');
        if (answer.status !== 200) throw new Error(`the legitimate request got ${answer.status}`);
        times.push(answer.ms);
      }
      return times;
    };
    const quiet = await legitimate();
    let flooding = true;
    const answers: Record<number, number> = {};
    const flood = Array.from({ length: flooders * CONCURRENCY_PER_ADDRESS }, async (_, i) => {
      const address = `127.0.1.${1 + Math.floor(i / CONCURRENCY_PER_ADDRESS)}`;
      while (flooding) {
        const { status } = await postToken(auth.url, { id: 'nobody', secret: 'wrong' }, address);
        answers[status] = (answers[status] ?? 0) + 1;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const during = await legitimate();
    flooding = false;
    await Promise.all(flood);
    const figures = (times: number[]) =>
      `p50 ${quantile(times, 0.5).toFixed(1)} ms, p90 ${quantile(times, 0.9).toFixed(1)} ms`;
    console.log(
      `${label}, ${flooders} flooding address(es) × ${CONCURRENCY_PER_ADDRESS}: quiet ${figures(quiet)}; ` +
        `during the flood ${figures(during)}; flood answers ${JSON.stringify(answers)}`,
    );
  } finally {
    await auth.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const off = {
  addressFreeFailures: 1e9,
  idFreeFailures: 1e9,
  maxConcurrentChecks: 1e6,
  maxQueuedChecks: 1e6,
};
for (const flooders of [1, 8]) {
  await run('no throttle', off, flooders);
  await run('throttle   ', undefined, flooders);
}
