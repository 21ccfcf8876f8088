import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from './clock.ts';

/**
 * Test tooling shared by every unit's tests and fixtures. It is a door of its own, beside
 * index.ts, so that services never ship it (import-direction.test.ts lets only `*.test.ts` and
 * `*.fixtures.ts` files import it). [design]
 */

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

/** A clock the test moves. It starts on a whole second, so JWT second-resolution times line up. */
export function manualClock(start = Math.floor(Date.now() / 1000) * 1000): ManualClock {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** A fresh temporary directory, removed with its contents on dispose. */
export async function tempDir(prefix = 'mqfed-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

export interface RawCall {
  method?: string;
  /** A string is sent as it is; anything else as JSON. */
  body?: string | object;
  bearer?: string;
  headers?: Record<string, string>;
}

/**
 * A raw HTTP request to a service under test, answering the status, the parsed JSON body ({} when
 * empty) and the headers. Raw on purpose: tests send what the typed clients never would.
 */
export async function call(
  url: string,
  init: RawCall = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/json';
  }
  if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
  const body =
    init.body === undefined || typeof init.body === 'string'
      ? (init.body ?? null)
      : JSON.stringify(init.body);
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}
