import { seededRandom } from '../system/common/index.ts';
import type { MobileClientInfo, MobilityModel } from './mobility-model.ts';
import type { MobilitySpec, TraceStep } from './scenario.ts';

export type { MobileClientInfo, MobilityModel } from './mobility-model.ts';

/**
 * Stagger: client i of n is offset by i/n of a dwell, so a group's moves spread over the dwell
 * instead of all clients leaving at once (that is the handover-storm scenario's job).
 */
function slotOf(client: MobileClientInfo, nowMs: number, dwellMs: number): number {
  const offset = (client.index / Math.max(1, client.count)) * dwellMs;
  return Math.floor((Math.max(0, nowMs) + offset) / dwellMs);
}

/** Starts on brokers[i % n] and moves to the next broker in the list every `dwellMs`. */
export function roundRobin(dwellMs: number): MobilityModel {
  return (client, nowMs) => {
    const n = client.brokers.length;
    return client.brokers[(client.index + slotOf(client, nowMs, dwellMs)) % n];
  };
}

/** A 32-bit mix of the seed and a client index, so each client draws its own sequence. */
function clientSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * Every `dwellMs` moves to a broker drawn at random among the others. The broker of dwell slot k
 * is a pure function of (seed, client, k): the draws are replayed from slot 0 (and cached), so the
 * answer does not depend on how often or in which order the model is asked.
 */
export function randomMoves(dwellMs: number, seed: number): MobilityModel {
  const cache = new Map<number, { slot: number; broker: string; next: () => number }>();
  return (client, nowMs) => {
    const n = client.brokers.length;
    const slot = slotOf(client, nowMs, dwellMs);
    let state = cache.get(client.index);
    if (state === undefined || state.slot > slot) {
      state = {
        slot: 0,
        broker: client.brokers[client.index % n]!,
        next: seededRandom(clientSeed(seed, client.index)),
      };
      cache.set(client.index, state);
    }
    while (state.slot < slot) {
      const others = client.brokers.filter((b) => b !== state!.broker);
      const draw = state.next();
      if (others.length > 0) state.broker = others[Math.floor(draw * others.length)]!;
      state.slot += 1;
    }
    return state.broker;
  };
}

/** Follows a trace of (time, client, broker): a client is where its latest step at or before now says. */
export function traceMoves(steps: readonly TraceStep[]): MobilityModel {
  const byClient = new Map<string, TraceStep[]>();
  for (const step of steps) {
    const list = byClient.get(step.client) ?? [];
    list.push(step);
    byClient.set(step.client, list);
  }
  for (const list of byClient.values()) list.sort((a, b) => a.tMs - b.tMs);
  return (client, nowMs) => {
    let broker: string | undefined;
    for (const step of byClient.get(client.id) ?? []) {
      if (step.tMs > nowMs) break;
      broker = step.broker;
    }
    return broker;
  };
}

/**
 * Reads a trace file: one `tMs,client,broker` per line; blank lines, `#` comments and a header
 * line starting with a letter in the time column are skipped. A bad line names its number.
 */
export function parseTrace(text: string): TraceStep[] {
  const steps: TraceStep[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [time, client, broker, ...rest] = line.split(',').map((cell) => cell.trim());
    if (index === 0 && time !== undefined && /^[A-Za-z]/.test(time)) continue;
    const tMs = Number(time);
    if (!Number.isFinite(tMs) || tMs < 0 || !client || !broker || rest.length > 0) {
      throw new Error(`trace line ${index + 1}: expected "tMs,client,broker", got "${line}"`);
    }
    steps.push({ tMs, client, broker });
  }
  return steps;
}

/** The model a scenario's `mobility` declares. */
export function createMobility(spec: MobilitySpec, runSeed: number): MobilityModel {
  switch (spec.kind) {
    case 'round-robin':
      return roundRobin(spec.dwellMs);
    case 'random':
      return randomMoves(spec.dwellMs, spec.seed ?? runSeed);
    case 'trace':
      return traceMoves(spec.steps);
    case 'custom':
      return spec.model;
  }
}

/** The per-client random a model receives: seeded from the run seed and the client's index. */
export function clientRandom(runSeed: number, index: number): () => number {
  return seededRandom(clientSeed(runSeed ^ 0x5bd1e995, index));
}
