/**
 * The lifecycle every mqfed service shares: `startXService(options)` resolves once the service
 * listens, and gives back this handle. `close()` is idempotent, so `await using` and an explicit
 * close in a signal handler can both run without harm.
 */
export interface RunningService {
  /** Base URL the service answers on, e.g. `http://127.0.0.1:40211`. */
  readonly url: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function runningService<T extends object>(
  url: string,
  closeOnce: () => Promise<void>,
  extra?: T,
): RunningService & T {
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= closeOnce();
    return closing;
  };
  return Object.assign(Object.create(null) as object, extra, {
    url,
    close,
    [Symbol.asyncDispose]: close,
  }) as RunningService & T;
}
