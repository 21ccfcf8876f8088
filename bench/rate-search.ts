export interface SearchOptions {
  /** First rate tried, msg/s. */
  startRate: number;
  /** Factor between rates while no run has both passed and failed yet. */
  growth: number;
  /** No rate above this is tried (the highest pass is then a lower bound). */
  maxRate: number;
  /** No rate below this is tried. */
  minRate: number;
  /** Bisection stops once the failing rate is within this fraction above the passing one. */
  resolution: number;
}

export interface Trial<T> {
  rate: number;
  pass: boolean;
  result: T;
}

export interface SearchOutcome<T> {
  /** The highest rate that passed; undefined if none did. */
  highestPass: number | undefined;
  /** The lowest rate that failed; undefined if none did (then maxRate capped the search). */
  lowestFail: number | undefined;
  trials: Trial<T>[];
}

/**
 * Finds the highest rate at which `run` passes: geometric steps up from the start rate (or down,
 * if it fails) until one run passes and another fails, then bisection between the last pass and
 * the first fail. Bisection takes the geometric mean, as the steps are geometric. Each rate is
 * run once: on a noisy machine a rerun may decide differently, which the report says.
 */
export async function searchRate<T>(
  options: SearchOptions,
  run: (rate: number) => Promise<{ pass: boolean; result: T }>,
): Promise<SearchOutcome<T>> {
  const trials: Trial<T>[] = [];
  let pass: number | undefined;
  let fail: number | undefined;
  const attempt = async (rate: number) => {
    const { pass: passed, result } = await run(rate);
    trials.push({ rate, pass: passed, result });
    if (passed) pass = Math.max(pass ?? 0, rate);
    else fail = Math.min(fail ?? Number.POSITIVE_INFINITY, rate);
    return passed;
  };

  let rate = roundRate(Math.min(Math.max(options.startRate, options.minRate), options.maxRate));
  if (await attempt(rate)) {
    while (rate < options.maxRate) {
      rate = roundRate(Math.min(rate * options.growth, options.maxRate));
      if (!(await attempt(rate))) break;
    }
  } else {
    while (rate > options.minRate) {
      rate = roundRate(Math.max(rate / options.growth, options.minRate));
      if (await attempt(rate)) break;
    }
  }

  while (pass !== undefined && fail !== undefined && fail / pass - 1 > options.resolution) {
    const middle = roundRate(Math.sqrt(pass * fail));
    if (middle <= pass || middle >= fail) break;
    await attempt(middle);
  }
  return { highestPass: pass, lowestFail: fail, trials };
}

/** The lowest rate of three significant digits at or above `rate`: 1145 → 1150. */
export function roundRateUp(rate: number): number {
  const rounded = roundRate(rate);
  if (rounded >= rate) return rounded;
  if (rate < 100) return Math.ceil(rate);
  const unit = 10 ** (Math.floor(Math.log10(rate)) - 2);
  return Math.ceil(rate / unit) * unit;
}

/** Three significant digits: 113137 → 113000, so rates read well in a table. */
export function roundRate(rate: number): number {
  if (rate < 100) return Math.max(1, Math.round(rate));
  const unit = 10 ** (Math.floor(Math.log10(rate)) - 2);
  return Math.round(rate / unit) * unit;
}
