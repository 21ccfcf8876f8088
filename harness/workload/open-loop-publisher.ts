import type { Writable } from 'node:stream';
import type { MqttClient, Packet } from 'mqtt';
import { compactDelayHistogram, recordDelayMs } from '../recording/histogram.ts';
import type { PublisherSchedule, PublishReport } from '../seams/client-factory.ts';
import { isQos1Publish, publishPacket, writePacketId } from './mqtt-publish-packet.ts';
import { encodeMessage } from './payload.ts';
import type { PreciseScheduler, ScheduledTask } from './precise-scheduler.ts';
import type { PublishLedger } from './publish-ledger.ts';

export type { PublisherSchedule, PublishReport } from '../seams/client-factory.ts';

/**
 * Where a publisher's messages go: MQTT.js, a raw socket, or nowhere (the floor). [design] Three
 * steps, so that only what must happen at the due time happens then, and the publisher's
 * lateness is read at the moment a message is handed over, before the system call that writes
 * it:
 *   - `prepare`, ahead of the due time while the code is hot (after the thread slept, the same
 *     few µs of encoding take 5–10 times longer, measured on a small VM);
 *   - `send` at the due time: into the connection's send buffer;
 *   - `flush`: the socket write, for every message sent in this wake-up. On loopback that
 *     write also carries the segment through the kernel to the receiving socket (60–200 µs on a
 *     small VM after the thread slept, measured): network path, in every delay, not lateness.
 */
export interface PublishSink<Prepared = unknown> {
  prepare(topic: string, payload: Buffer, qos: 0 | 1): Prepared;
  /** `seq` is the message's number in its schedule, for the sink's ledger. */
  send(message: Prepared, seq: number): void;
  flush(): void;
  /** Lets go of what the sink attached to its connection, which may outlive it. */
  close?(): void;
}

/** A sink that drops everything: the scheduler alone (the measuring floor). */
export const discardSink: PublishSink<undefined> = {
  prepare() {
    return undefined;
  },
  send() {},
  flush() {},
};

/** Uncorks a stream as often as it was corked: its buffered writes go out now. */
export function uncorkFully(stream: Partial<Writable>): void {
  while ((stream.writableCorked ?? 0) > 0) stream.uncork?.();
}

/** Bytes sent in one wake-up go out in one write. */
function writeAll(stream: Writable, pending: Buffer[]): void {
  if (pending.length === 0) return;
  stream.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
  pending.length = 0;
}

/** Payloads as they are, over a plain socket (the measuring floor's loopback path). */
export function socketSink(socket: Writable): PublishSink<Buffer> {
  const pending: Buffer[] = [];
  return {
    prepare: (_topic, payload) => payload,
    send: (payload) => pending.push(payload),
    flush: () => writeAll(socket, pending),
  };
}

const QOS = [{ qos: 0 }, { qos: 1 }] as const;

/** Packet ids of prepared QoS 1 packets: the upper half, away from MQTT.js's own. */
const RAW_IDS = { first: 0x8000, count: 0x8000 } as const;

type MqttMessage = Buffer | { topic: string; payload: Buffer; qos: 0 | 1 };

/**
 * Publishes on an MQTT.js connection. [design] A QoS 0 publish on a closed connection is dropped
 * silently: that is loss, counted by the subscribers, not a harness failure.
 * [design] The time MQTT.js takes to publish would be part of the publisher's lateness, and so
 * of every delay: 7–15 µs per publish when hot, ≈50 µs after the thread slept (small VM,
 * measured), a sizeable share of a 0.1–0.3 ms broker hop. A QoS 0 message is therefore
 * prepared as its PUBLISH packet and written straight to MQTT.js's socket: the same bytes
 * MQTT.js would write (tested), and MQTT.js keeps no state for QoS 0. A QoS 1 message goes
 * through MQTT.js, which numbers it, keeps it until its PUBACK and sends it again after a
 * reconnect; MQTT.js writes it into a corked stream and would uncork on `process.nextTick`
 * (mqtt-packet's writeToStream), after the scheduler's turn: `flush` uncorks at once, and
 * MQTT.js's own uncork later finds nothing to do. `viaMqttJs: true` sends QoS 0 through MQTT.js
 * too, for comparison.
 * A QoS 1 message is handed to MQTT.js while the connection is down too, if the client will
 * reconnect: MQTT.js stores it and sends it once it is back, as a device would.
 * [design] A client that never reconnects has nothing to resend, so MQTT.js's store buys it
 * nothing: its QoS 1 messages are prepared as packets too, numbered from a range MQTT.js does
 * not use here (`RAW_IDS`), and their PUBACKs are read off the wire (MQTT.js ignores a PUBACK
 * it did not ask for). At QoS 1 MQTT.js cost the generator twice what the brokers spend per
 * message, which on a shared machine halved the rate the bench found. `ledger` notes
 * each message handed over and each PUBACK (a callback that runs when the PUBACK arrives, off
 * the schedule's path: the delay is still measured from the scheduled time).
 */
export function mqttSink(
  client: MqttClient,
  options: { viaMqttJs?: boolean; ledger?: PublishLedger } = {},
): PublishSink<MqttMessage> {
  const viaMqttJs = options.viaMqttJs ?? false;
  const { ledger } = options;
  const pending: Buffer[] = [];
  const willReconnect = () => client.options.reconnectPeriod! > 0 && !client.disconnecting;
  const rawQos1 = !viaMqttJs && !willReconnect();
  const seqOfId = new Float64Array(RAW_IDS.count);
  let nextId = 0;
  // [design] A connection serves a run after another (the link bench reuses each publisher for
  // every run of its path), so what a sink listens with goes with the sink: left behind, every
  // PUBACK of a later run went through the listeners of all earlier ones.
  const onPacket = (packet: Packet) => {
    if (packet.cmd !== 'puback') return;
    const slot = (packet.messageId ?? 0) - RAW_IDS.first;
    if (slot >= 0 && slot < RAW_IDS.count) ledger!.acknowledged(seqOfId[slot]!);
  };
  if (rawQos1 && ledger !== undefined) client.on('packetreceive', onPacket);
  return {
    prepare: (topic, payload, qos) =>
      (qos === 0 || rawQos1) && !viaMqttJs
        ? publishPacket(topic, payload, qos)
        : { topic, payload, qos },
    send(message, seq) {
      if (Buffer.isBuffer(message)) {
        if (!client.connected) return;
        if (isQos1Publish(message)) {
          // Ids wrap after RAW_IDS.count messages in flight: far more than a run ever has.
          seqOfId[nextId] = seq;
          writePacketId(message, RAW_IDS.first + nextId);
          nextId = (nextId + 1) % RAW_IDS.count;
        }
        pending.push(message);
      } else if (message.qos === 0) {
        if (!client.connected) return;
        client.publish(message.topic, message.payload, QOS[0]);
      } else {
        if (!client.connected && !willReconnect()) return;
        client.publish(
          message.topic,
          message.payload,
          QOS[1],
          ledger === undefined
            ? undefined
            : (error) => {
                if (error === undefined || error === null) ledger.acknowledged(seq);
              },
        );
      }
      ledger?.handedOver(seq);
    },
    flush() {
      const stream = client.stream as Writable;
      writeAll(stream, pending);
      uncorkFully(stream);
    },
    close() {
      client.removeListener('packetreceive', onPacket);
    },
  };
}

/** When message `seq` of a schedule is due. Shared with the recorder, which needs the same times. */
export function scheduledAt(schedule: Pick<PublisherSchedule, 'startMs' | 'rate'>, seq: number) {
  return schedule.startMs + (seq * 1000) / schedule.rate;
}

/**
 * An open-loop publisher: message n is due at a fixed time whatever happened to the messages
 * before it, and carries that scheduled time (design §4). Each time the scheduler wakes it, it
 * sends every message that has come due, so a late wake-up (a busy thread, a slow broker) sends
 * more rather than shifting the schedule: the lateness shows in the measured delay instead of
 * being hidden by it. That is what "no coordinated omission" means here, so no after-the-fact
 * correction of the histogram is needed.
 *
 * Its lateness is recorded per message as the sink has taken it, before the socket write
 * (PublishSink says why); the messages of one wake-up go out in one write.
 */
export class OpenLoopPublisher<Prepared = unknown> implements ScheduledTask {
  readonly #sink: PublishSink<Prepared>;
  readonly #schedule: PublisherSchedule;
  readonly #scheduler: PreciseScheduler;
  // Packed: a crowd's client host holds a thousand of these (histogram.ts).
  readonly #lag = compactDelayHistogram();
  #sent = 0;
  /** Message `#sent`, prepared ahead of its time. */
  #next: { message: Prepared } | undefined;
  /** Lateness (ms) of the messages of the current wake-up, recorded after their write. */
  readonly #lateness: number[] = [];
  #done: ((report: PublishReport) => void) | undefined;

  constructor(
    sink: PublishSink<Prepared>,
    schedule: PublisherSchedule,
    scheduler: PreciseScheduler,
  ) {
    this.#sink = sink;
    this.#schedule = schedule;
    this.#scheduler = scheduler;
  }

  get sent(): number {
    return this.#sent;
  }

  /** Sends the whole schedule (or until `stop`); resolves once the last message was handed over. */
  run(): Promise<PublishReport> {
    return new Promise((resolve) => {
      this.#done = resolve;
      if (this.#schedule.count === 0) this.#finish();
      else this.#scheduler.add(this, scheduledAt(this.#schedule, 0));
    });
  }

  stop(): void {
    this.#scheduler.remove(this);
    this.#finish();
  }

  fire(timeMs: number): number | undefined {
    const { count, warmupEndMs = Number.NEGATIVE_INFINITY } = this.#schedule;
    const lateness = this.#lateness;
    let seq = this.#sent;
    let dueMs = scheduledAt(this.#schedule, seq);
    // Every message due by now, each stamped with its own scheduled time.
    while (seq < count && dueMs <= timeMs) {
      const prepared = this.#next ?? this.#prepare(seq, dueMs);
      this.#next = undefined;
      this.#sink.send(prepared.message, seq);
      if (dueMs >= warmupEndMs) lateness.push(this.#scheduler.now() - dueMs);
      seq += 1;
      dueMs = scheduledAt(this.#schedule, seq);
    }
    this.#sink.flush();
    // Recorded after the write, so the histogram's work does not delay it.
    for (const lateMs of lateness) recordDelayMs(this.#lag, lateMs);
    lateness.length = 0;
    this.#sent = seq;
    if (seq >= count) {
      this.#finish();
      return undefined;
    }
    this.#next = this.#prepare(seq, dueMs);
    return dueMs;
  }

  #prepare(seq: number, scheduledMs: number): { message: Prepared } {
    const { runId, publisher, topics, qos, payloadBytes } = this.#schedule;
    const payload = encodeMessage(
      { runId, publisher, seq, probe: false, scheduledMs },
      payloadBytes,
    );
    return { message: this.#sink.prepare(topics[seq % topics.length]!, payload, qos) };
  }

  #finish(): void {
    const done = this.#done;
    this.#done = undefined;
    done?.({ sent: this.#sent, lag: this.#lag });
  }
}
