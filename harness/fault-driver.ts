import { MqfedError } from '../system/protocol/index.ts';
import type { AppliedFault } from './recording/fault-impact.ts';
import type { Fault } from './scenario.ts';
import { nowMs } from './seams/run-clock.ts';
import type { FaultAction, StartedTopology } from './topology/topology.ts';

/** The topology's method that carries out each fault action. */
const METHOD = {
  kill: 'kill',
  stop: 'stop',
  restart: 'restart',
  pause: 'pause',
  resume: 'resume',
  disconnect: 'disconnect',
  reconnect: 'reconnect',
  'cut-links': 'cutLinks',
  'restore-links': 'restoreLinks',
} as const satisfies Record<FaultAction, keyof StartedTopology>;

/** Faults on a broker's peer links rather than on the broker: the topology must relay its links. */
export const LINK_FAULTS: ReadonlySet<FaultAction> = new Set(['cut-links', 'restore-links']);

/** Throws INVALID_REQUEST, before anything runs, if the topology cannot do one of the faults. */
export function checkFaults(faults: readonly Fault[], topology: StartedTopology): void {
  for (const fault of faults) {
    if (typeof topology[METHOD[fault.action]] !== 'function') {
      throw new MqfedError(
        'INVALID_REQUEST',
        `faults: the ${topology.kind} topology cannot ${fault.action} a broker`,
      );
    }
  }
}

/**
 * Carries out a scenario's faults on a started topology at their times after the schedule began,
 * one after the other (a restart waits for the kill before it), and keeps what happened. A fault
 * that fails is kept with its error, not thrown: the run goes on and the report says so.
 */
export class FaultDriver {
  readonly applied: AppliedFault[] = [];
  readonly #faults: readonly Fault[];
  readonly #topology: StartedTopology;
  readonly #timers: NodeJS.Timeout[] = [];
  #chain: Promise<void> = Promise.resolve();

  /** `scale` stretches the declared times (a quick run is shorter than the declared one). */
  constructor(faults: readonly Fault[], topology: StartedTopology, scale = 1) {
    this.#faults = faults.map((fault) => ({ ...fault, atMs: Math.round(fault.atMs * scale) }));
    this.#topology = topology;
  }

  start(scheduleStartMs: number): void {
    for (const fault of this.#faults) this.#at(scheduleStartMs + fault.atMs, fault);
  }

  /** Never early: a timer may fire up to a millisecond before `dueMs` on the run's clock. */
  #at(dueMs: number, fault: Fault): void {
    const wait = dueMs - nowMs();
    if (wait <= 0) {
      this.#enqueue(fault.action, fault.broker);
      return;
    }
    this.#timers.push(setTimeout(() => this.#at(dueMs, fault), Math.ceil(wait)));
  }

  #enqueue(action: FaultAction, broker: string): void {
    this.#chain = this.#chain.then(async () => {
      const startMs = nowMs();
      try {
        await this.#topology[METHOD[action]]?.(broker);
        this.applied.push({ action, broker, startMs, doneMs: nowMs() });
      } catch (error) {
        this.applied.push({ action, broker, startMs, doneMs: nowMs(), error: String(error) });
      }
    });
  }

  /** Cancels faults not yet due and waits for the one under way. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    await this.#chain;
  }
}
