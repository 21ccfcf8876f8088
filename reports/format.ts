import type { Interval } from '../harness/results/index.ts';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * JSON that is safe inside a `<script>` element: `<`, `>` and `&` become `\u003c` etc., so a
 * string from the results file can never close the script or open a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026');
}

/** A delay in ms with precision that suits its size: 0.123, 12.35, 1234.5. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const abs = Math.abs(ms);
  if (abs < 1) return ms.toFixed(3);
  if (abs < 100) return ms.toFixed(2);
  return ms.toFixed(1);
}

/** A fraction as a percentage: 0.5 → `50.0 %`. */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}

/** A signed difference of two fractions in percentage points: 0.05 → `+5.0 pts`. */
export function formatPoints(difference: number): string {
  const points = difference * 100;
  return `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pts`;
}

/** A signed relative change: 0.042 → `+4.2 %`. */
export function formatChange(change: number): string {
  if (!Number.isFinite(change)) return change > 0 ? '+∞' : 'n/a';
  const percent = change * 100;
  return `${percent >= 0 ? '+' : '−'}${Math.abs(percent).toFixed(1)} %`;
}

/** A count with thousands separators. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** Bytes in binary units: 1536 → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * A median over repetitions with its 95 % interval: `0.512 ms (0.498–0.530, n=5)`, or for
 * overheads (fractions) `42.0 % (40.1–44.3, n=5)`. [design] An interval of one repetition says
 * nothing about run-to-run noise, so it reads `1 run, no interval`, never as an exact figure.
 */
export function formatInterval(interval: Interval, kind: 'ms' | 'percent' = 'ms'): string {
  if (interval.n === 0) return 'no runs';
  const value = kind === 'ms' ? formatMs : (v: number) => (v * 100).toFixed(1);
  const head = `${value(interval.estimate)} ${kind === 'ms' ? 'ms' : '%'}`;
  if (interval.n < 2) return `${head} (1 run, no interval)`;
  return `${head} (${value(interval.lo)}–${value(interval.hi)}, n=${interval.n})`;
}

/** How many times `small` fits in `large`, for sentences: `12×`, `3.4×`. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '∞×';
  return ratio >= 10 ? `${Math.round(ratio)}×` : `${ratio.toFixed(1)}×`;
}
