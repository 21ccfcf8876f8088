import WebSocket from 'ws';
import {
  decodeFrame,
  encodeFrame,
  PEER_LINK_SUBPROTOCOL,
  type PeerFrame,
} from '../protocol/index.ts';

/**
 * A fake peer for the security tests: a registered service speaking raw frames over a plain ws
 * WebSocket, doing only what a hostile broker would choose to do.
 */

export type FrameOf<T extends PeerFrame['type']> = Extract<PeerFrame, { type: T }>;

export interface Refusal {
  status: number;
  body: { code?: string };
}

/** Asks `url` to upgrade and reads the plain HTTP refusal; fails if a WebSocket opens instead. */
export function attemptUpgrade(
  url: string,
  options: { token?: string; protocols?: string[] } = {},
): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> =
      options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    const ws = new WebSocket(url, options.protocols ?? [PEER_LINK_SUBPROTOCOL], { headers });
    ws.on('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        request.destroy();
        const text = Buffer.concat(chunks).toString();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Refusal['body'] });
      });
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', reject);
  });
}

export interface RawPeer extends AsyncDisposable {
  /** Every frame received so far, decoded. */
  readonly frames: PeerFrame[];
  /** The first frame received (so far or later) of `type` that satisfies `predicate`. */
  frame<T extends PeerFrame['type']>(
    type: T,
    predicate?: (frame: FrameOf<T>) => boolean,
  ): Promise<FrameOf<T>>;
  send(frame: PeerFrame): void;
  /** Settles when the socket closes, with the close code and reason the broker sent. */
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
}

/** A WebSocket to a broker's link server, dialed as `id` with `token`, that has sent HELLO. */
export async function openRawPeer(url: string, id: string, token: string): Promise<RawPeer> {
  const ws = new WebSocket(url, PEER_LINK_SUBPROTOCOL, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  ws.binaryType = 'nodebuffer';
  const frames: PeerFrame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    frames.push(decodeFrame(data as Buffer));
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  const send = (frame: PeerFrame) => ws.send(encodeFrame(frame), { binary: true });
  send({
    type: 'hello',
    brokerId: id,
    stream: 'raw-peer-stream-0123456789',
    maxPayloadBytes: 256 * 1024,
  });
  // mqfed.v2 and later: publishes flow once the receiver said where the sender's stream resumes.
  send({ type: 'puback', next: 0 });
  return {
    frames,
    frame(type, predicate = () => true) {
      const find = () =>
        frames.find(
          (candidate): candidate is FrameOf<typeof type> =>
            candidate.type === type && predicate(candidate as FrameOf<typeof type>),
        );
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = find();
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${type} frame within 5000 ms`));
        }, 5_000);
        waiters.add(check);
        check();
      });
    },
    send,
    closed,
    async [Symbol.asyncDispose]() {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      await closed;
    },
  };
}
