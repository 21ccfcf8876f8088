import type { Interval } from '../harness/results/index.ts';
import { formatPoints } from './format.ts';

/** Our overhead within this many percentage points of the paper's counts as "about the same". */
export const PAPER_TOLERANCE = 0.1;

export interface OverheadVerdict {
  kind: 'close' | 'lower' | 'higher' | 'no-comparison' | 'no-paper';
  /** One plain sentence for the report. */
  text: string;
}

/**
 * Our federation overhead against the paper's, in words. Overheads are fractions: 0.5 is 50 %,
 * the cross-broker delay being one and a half times the same-broker delay.
 */
export function overheadVerdict(
  ours: number | null,
  paper: number | null,
  interval?: Interval,
): OverheadVerdict {
  const verdict = pointVerdict(ours, paper);
  // Only an interval from several runs can say whether the paper's figure is within our noise.
  if (interval === undefined || interval.n < 2 || ours === null || paper === null) return verdict;
  const inside = paper >= interval.lo && paper <= interval.hi;
  return {
    ...verdict,
    text: `${verdict.text} The paper's figure lies ${inside ? 'inside' : 'outside'} our 95 % interval.`,
  };
}

function pointVerdict(ours: number | null, paper: number | null): OverheadVerdict {
  if (ours === null) {
    return {
      kind: 'no-comparison',
      text: 'This run has no same-broker / cross-broker pair, so it measures no overhead.',
    };
  }
  if (paper === null) {
    return { kind: 'no-paper', text: 'The paper gives no figure for this scenario.' };
  }
  const difference = ours - paper;
  if (Math.abs(difference) <= PAPER_TOLERANCE) {
    return {
      kind: 'close',
      text: `About the same as the paper (${formatPoints(difference)}, within ±${PAPER_TOLERANCE * 100} pts): federating costs what the paper measured.`,
    };
  }
  if (difference < 0) {
    return {
      kind: 'lower',
      text: `Lower than the paper (${formatPoints(difference)}): crossing brokers costs less here than in the paper.`,
    };
  }
  return {
    kind: 'higher',
    text: `Higher than the paper (${formatPoints(difference)}): crossing brokers costs more here than in the paper.`,
  };
}
