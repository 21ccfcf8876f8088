import { errorLimitOf, isErrorCode, LimitError, MqfedError } from '../protocol/index.ts';
import type { TlsTrust } from './tls-config.ts';
import { fetchTrusting } from './tls-fetch.ts';

export interface JsonRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  bearer?: string;
  headers?: Record<string, string>;
  /** Abort after this many milliseconds. */
  timeoutMs?: number;
  /** The CA to trust for an https:// URL; the system CAs without it. */
  tls?: TlsTrust | undefined;
  /**
   * A longer answer is refused (BODY_TOO_LARGE) while it is read, not after: an answer from a
   * peer that may be hostile must not make the caller buffer without bound. Unbounded if absent.
   */
  maxResponseBytes?: number;
}

/**
 * Calls a JSON endpoint of an mqfed service. An error answer is thrown as the MqfedError it
 * carries, so callers branch on the same stable codes the server used.
 */
export async function requestJson<T>(url: string, request: JsonRequest = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.bearer !== undefined) headers.authorization = `Bearer ${request.bearer}`;
  const response = await fetchTrusting(request.tls)(url, {
    method: request.method ?? (request.body === undefined ? 'GET' : 'POST'),
    headers,
    body: request.body === undefined ? null : JSON.stringify(request.body),
    signal: AbortSignal.timeout(request.timeoutMs ?? 5_000),
  }).catch((error: unknown) => {
    // fetch says only "fetch failed" when it cannot connect; what failed is in its cause. The
    // same class (TypeError) with a message that says it, so callers that tell a network
    // failure from a timeout by class still do.
    if (!(error instanceof TypeError)) throw error;
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const why = cause?.code ?? cause?.message ?? error.message;
    throw new TypeError(`cannot reach ${new URL(url).origin} (${String(why)})`, { cause: error });
  });
  const text =
    request.maxResponseBytes === undefined
      ? await response.text()
      : await boundedText(response, request.maxResponseBytes);
  const parsed: unknown = text.length > 0 ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const { code: sent, message: said } = (parsed ?? {}) as { code?: unknown; message?: unknown };
    const code = isErrorCode(sent) ? sent : 'INTERNAL';
    const message = typeof said === 'string' ? said : `HTTP ${response.status} from ${url}`;
    const limit = errorLimitOf(parsed);
    throw limit === undefined
      ? new MqfedError(code, message)
      : new LimitError(code, message, limit);
  }
  return parsed as T;
}

async function boundedText(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new MqfedError('BODY_TOO_LARGE', `answer of ${declared} bytes, above ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.length;
    if (total > maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw new MqfedError('BODY_TOO_LARGE', `answer above ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
