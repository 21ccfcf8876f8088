import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from '../harness/results/index.ts';

/**
 * The arithmetic of `bench:memory`: reading a process's resident set, turning two readings into
 * a cost per unit (client, link, 1,000 topics), and summing repetitions up with their spread.
 */

/** VmRSS of a `/proc/<pid>/status` text, KiB; throws when the line is missing (a kernel thread). */
export function vmRssKiB(statusText: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  if (match === null) throw new Error('no VmRSS line in the process status');
  return Number(match[1]);
}

/** Resident set of a live process, KiB. */
export async function readRssKiB(pid: number): Promise<number> {
  return vmRssKiB(await readFile(`/proc/${pid}/status`, 'utf8'));
}

/**
 * A settled reading: the median of `reads` readings `intervalMs` apart. [design] A Node service
 * offers no way to force a collection from outside, so its resident set moves a little with
 * garbage not collected yet; the median of a few readings takes out a read caught mid-collection.
 */
export async function settledRssKiB(pid: number, reads = 5, intervalMs = 1000): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < reads; i++) {
    if (i > 0) await sleep(intervalMs);
    values.push(await readRssKiB(pid));
  }
  return median(values);
}

/** (after − before) / units, KiB a unit; undefined for no units. */
export function perUnitKiB(beforeKiB: number, afterKiB: number, units: number): number | undefined {
  if (!(units > 0)) return undefined;
  return round((afterKiB - beforeKiB) / units);
}

export interface Point {
  /** Units held: links, thousands of topics. */
  x: number;
  /** Resident set, KiB. */
  y: number;
}

/**
 * Least-squares slope of resident set over units held, KiB a unit. [design] Over several steps
 * (0, 1, 2, 4, 8 links) rather than two readings: what each step adds once (a client that
 * subscribes, a timer started on first use) lands in the intercept, not in the cost per unit.
 */
export function slopeKiB(points: readonly Point[]): number | undefined {
  if (points.length < 2) return undefined;
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.x - meanX) * (p.y - meanY);
    variance += (p.x - meanX) ** 2;
  }
  return variance === 0 ? undefined : round(covariance / variance);
}

/** Repetitions of one figure: their median, range and spread. */
export interface Spread {
  values: number[];
  median: number;
  min: number;
  max: number;
  /** (max − min) / |median|, a share; undefined when the median is 0. */
  spread: number | undefined;
}

export function spreadOf(values: readonly (number | undefined)[]): Spread | undefined {
  const known = values.filter((value): value is number => value !== undefined);
  if (known.length === 0) return undefined;
  const mid = median(known);
  const min = Math.min(...known);
  const max = Math.max(...known);
  return {
    values: known,
    median: round(mid),
    min: round(min),
    max: round(max),
    spread: mid === 0 ? undefined : round((max - min) / Math.abs(mid)),
  };
}

/** A target as a verdict: mqfed's figure against a bound (absolute, or a ratio to a baseline). */
export interface Verdict {
  /** What the bound is, e.g. "≤ 2 × Mosquitto". */
  target: string;
  /** The bound in KiB, as computed. */
  boundKiB: number | undefined;
  met: boolean | undefined;
}

export function verdict(
  target: string,
  figureKiB: number | undefined,
  boundKiB: number | undefined,
): Verdict {
  return {
    target,
    boundKiB: boundKiB === undefined ? undefined : round(boundKiB),
    met: figureKiB === undefined || boundKiB === undefined ? undefined : figureKiB <= boundKiB,
  };
}

/** mqfed over Mosquitto; undefined when Mosquitto's figure is not positive. */
export function ratioTo(
  figure: number | undefined,
  baseline: number | undefined,
): number | undefined {
  if (figure === undefined || baseline === undefined || !(baseline > 0)) return undefined;
  return round(figure / baseline);
}

const round = (value: number) => Math.round(value * 100) / 100;
