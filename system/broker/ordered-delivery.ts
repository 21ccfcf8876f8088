import type { PublishFrame } from '../protocol/index.ts';

/**
 * Hands a peer's publishes to the local broker so that they reach each subscriber in the order
 * they came. [design] aedes sends a QoS 1 publish through one more asynchronous step than a QoS 0
 * one (queueing for offline sessions), so a QoS 0 publish handed over right after a QoS 1 one
 * overtakes it. aedes then drops the QoS 1 one at any client that receives both: its per-client
 * duplicate check (lib/client.js `dedupe`) takes "numbered lower than the last one delivered" for
 * "already delivered". So a QoS 0 publish waits here while QoS 1 deliveries before it are in
 * flight, and everything after a waiting publish waits too, which keeps the order.
 * A retained publish takes a slower path still (aedes stores it before it dispatches it, and the
 * store commits once per event-loop turn), so anything behind one would overtake it and get it
 * dropped the same way: while a retained delivery is in flight, everything after it waits.
 * Frames that wait are delivered even if their connection ends meanwhile: they were accepted, and
 * a resend of them would be taken for a duplicate.
 */
export class OrderedDelivery {
  readonly #deliver: (frame: PublishFrame, done: () => void) => void;
  #qos1InFlight = 0;
  #retainedInFlight = 0;
  readonly #waiting: { frame: PublishFrame; done: () => void }[] = [];

  constructor(deliver: (frame: PublishFrame, done: () => void) => void) {
    this.#deliver = deliver;
  }

  /** Delivers `frame` now or after the slower deliveries before it; `done` once delivered. */
  push(frame: PublishFrame, done: () => void): void {
    if (this.#waiting.length > 0 || this.#mustWait(frame)) {
      this.#waiting.push({ frame, done });
      return;
    }
    this.#start(frame, done);
  }

  /** Whether `frame`, started now, could overtake a delivery in flight. */
  #mustWait(frame: PublishFrame): boolean {
    return this.#retainedInFlight > 0 || (frame.qos === 0 && this.#qos1InFlight > 0);
  }

  #start(frame: PublishFrame, done: () => void): void {
    const { retain } = frame;
    const qos1 = frame.qos === 1;
    if (!retain && !qos1) {
      this.#deliver(frame, done);
      return;
    }
    if (retain) this.#retainedInFlight += 1;
    if (qos1) this.#qos1InFlight += 1;
    this.#deliver(frame, () => {
      if (retain) this.#retainedInFlight -= 1;
      if (qos1) this.#qos1InFlight -= 1;
      done();
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]!;
      if (this.#mustWait(next.frame)) return;
      this.#waiting.shift();
      this.#start(next.frame, next.done);
    }
  }
}
