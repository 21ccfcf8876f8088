import { MqfedError } from '../protocol/index.ts';
import { callPeer, type PeerApiCaller } from './peer-api.ts';
import { MAX_HOPS } from './session-relay.ts';
import {
  type MovedMessage,
  type TakeAnswer,
  type TakeRequest,
  takeAnswerSchema,
} from './session-wire.ts';

export interface TakeOptions {
  selfId: string;
  caller: PeerApiCaller;
  callTimeoutMs: number;
  pageBytes: number;
  maxMessages: number;
}

/** What a take brought, or why it brought nothing; `holder` is the broker last asked. */
export type Taken =
  | {
      outcome: 'found';
      holder: string;
      subscriptions: TakeAnswer['subscriptions'];
      messages: MovedMessage[];
      /** Brokers still relaying the session to the holder. */
      relaying: string[];
    }
  | { outcome: 'none'; holder: string }
  | { outcome: 'failed' | 'refused'; holder: string; error: unknown };

/**
 * The taker's side of a move: asks `holder` for the session, page after page, following
 * `movedTo` answers (at most MAX_HOPS). [design] Every answer is read to a bound and validated
 * whole; a session bigger than `maxMessages` is refused rather than taken in part.
 */
export async function takeSession(
  options: TakeOptions,
  holder: string,
  linkUrlHint: string | undefined,
  request: TakeRequest,
): Promise<Taken> {
  let asked = holder;
  let subscriptions: TakeAnswer['subscriptions'] | undefined;
  let relaying: string[] = [];
  const messages: MovedMessage[] = [];
  try {
    for (let hops = 0, index = 0; hops <= MAX_HOPS; ) {
      const answer = takeAnswerSchema.parse(
        await callPeer<unknown>(options.caller, asked, '/sessions/take', {
          body: { ...request, from: index },
          linkUrlHint: asked === holder ? linkUrlHint : undefined,
          timeoutMs: options.callTimeoutMs,
          maxResponseBytes: options.pageBytes * 2 + 1024 * 1024,
        }),
      );
      if (!answer.found) {
        if (answer.movedTo === undefined || answer.movedTo === options.selfId) break;
        asked = answer.movedTo;
        hops += 1;
        continue;
      }
      subscriptions ??= answer.subscriptions;
      relaying = answer.relaying ?? relaying;
      messages.push(...answer.messages);
      if (messages.length > options.maxMessages) {
        throw new MqfedError('SESSION_LIMIT_EXCEEDED', `more than ${options.maxMessages} queued`);
      }
      if (answer.done || answer.next <= index) break;
      index = answer.next;
    }
  } catch (error) {
    const code = error instanceof MqfedError ? error.code : undefined;
    const refused = code === 'SESSION_FORBIDDEN' || code === 'SESSION_MOVED';
    return { outcome: refused ? 'refused' : 'failed', holder: asked, error };
  }
  return subscriptions === undefined
    ? { outcome: 'none', holder: asked }
    : { outcome: 'found', holder: asked, subscriptions, messages, relaying };
}
