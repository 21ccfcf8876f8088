import type { Noise } from '../harness/results/index.ts';
import { escapeHtml } from './format.ts';
import type { Run } from './report-parts.ts';

/**
 * The warning banner at the top of the page when the machine was busy during a run, or ''.
 * [design] A figure from a busy machine is disclosed before any figure is read, not in a footnote.
 */
export function noiseBanner(runs: readonly Run[]): string {
  const overlaid = runs.length > 1;
  const noisy = runs.filter((run) => (run.results.noise?.warnings.length ?? 0) > 0);
  if (noisy.length === 0) return '';
  const items = noisy.flatMap((run) =>
    run.results.noise!.warnings.map(
      (warning) =>
        `<li>${overlaid ? `<strong>${escapeHtml(run.label)}</strong>: ` : ''}${escapeHtml(warning)}</li>`,
    ),
  );
  return `<div class="banner warning" id="noise-warning" role="alert">
  <strong>The machine was busy during ${overlaid ? 'some of these runs' : 'this run'}.</strong> Its delay figures carry that noise; compare them with runs on a quiet machine with care.
  <ul>${items.join('')}</ul>
</div>`;
}

/** The machine's load during the run, as rows of the environment table. */
export function noiseEntries(noise: Noise | null): [string, string][] {
  if (noise === null) return [['machine load', 'not measured']];
  return [
    [
      'load average (1 min)',
      `${noise.loadAverageBefore.toFixed(2)} before, ${noise.loadAverageMax.toFixed(2)} at most during the run`,
    ],
    ['CPU steal', `${noise.stealPercent.toFixed(1)} % of all CPUs`],
    ["other processes' CPU", `${noise.otherCpuPercent.toFixed(1)} % of all CPUs`],
    ['CPU pinning', noise.pinning ?? 'none'],
    [
      'noise warnings',
      noise.warnings.length === 0 ? 'none: a quiet machine' : noise.warnings.join('; '),
    ],
  ];
}
