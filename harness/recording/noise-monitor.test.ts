import { execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BUSY_OTHER_CPU_PERCENT, NoiseMonitor } from './noise-monitor.ts';

const linux = process.platform === 'linux';
const BURN = 'for(;;){}';
/** Enough burners to take a quarter of the machine, so the warning shows on any core count. */
const burners = Math.min(16, Math.ceil(cpus().length / 4));
const WINDOW_MS = 1_500;

/** Starts CPU burners that are not this process's descendants: a shell starts them and exits. */
function foreignBurners(count: number): number[] {
  const script = Array.from(
    { length: count },
    () => `"${process.execPath}" -e '${BURN}' >/dev/null 2>&1 & echo $!`,
  ).join('; ');
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n').map(Number);
}

function killAll(pids: Iterable<number>) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

describe('the noise monitor', () => {
  it.runIf(linux)(
    'warns when other processes use the CPUs during the run, and counts named pids as the run’s own',
    async () => {
      const pids = foreignBurners(burners);
      try {
        const strangers = new NoiseMonitor({ intervalMs: 250 });
        const own = new NoiseMonitor({ intervalMs: 250, ownPids: () => pids });
        strangers.start();
        own.start();
        await sleep(WINDOW_MS);
        const busy = strangers.stop();
        const owned = own.stop();
        expect(busy.otherCpuPercent).toBeGreaterThanOrEqual(BUSY_OTHER_CPU_PERCENT);
        expect(busy.warnings.join('\n')).toMatch(/other processes used/);
        // The same window, told the burners are the run's: their share leaves "other".
        const share = (100 * burners) / cpus().length;
        expect(busy.otherCpuPercent - owned.otherCpuPercent).toBeGreaterThan(share * 0.25);
      } finally {
        killAll(pids);
      }
    },
  );

  it.runIf(linux)('counts the harness’s own child processes as the run’s', async () => {
    const children = Array.from({ length: burners }, () =>
      spawn(process.execPath, ['-e', BURN], { stdio: 'ignore' }),
    );
    try {
      const harness = new NoiseMonitor({ intervalMs: 250 });
      // A harness pid that names no process: the children are nobody's.
      const nobody = new NoiseMonitor({ intervalMs: 250, harnessPid: 2 ** 22 + 1 });
      harness.start();
      nobody.start();
      await sleep(WINDOW_MS);
      const withChildren = harness.stop();
      const without = nobody.stop();
      const share = (100 * burners) / cpus().length;
      expect(without.otherCpuPercent - withChildren.otherCpuPercent).toBeGreaterThan(share * 0.25);
    } finally {
      killAll(children.flatMap((child) => (child.pid === undefined ? [] : [child.pid])));
    }
  });

  it('reports load, steal, other CPU, pinning and warnings for any run', async () => {
    const monitor = new NoiseMonitor({ intervalMs: 100 });
    monitor.start();
    await sleep(250);
    const noise = monitor.stop('harness on CPU 0; services on CPU 1 (taskset)');
    expect(noise.loadAverageMax).toBeGreaterThanOrEqual(noise.loadAverageBefore);
    for (const figure of [noise.stealPercent, noise.otherCpuPercent]) {
      expect(figure).toBeGreaterThanOrEqual(0);
      expect(figure).toBeLessThanOrEqual(100);
    }
    expect(noise.pinning).toBe('harness on CPU 0; services on CPU 1 (taskset)');
    expect(Array.isArray(noise.warnings)).toBe(true);
    if (!linux) expect(noise.warnings).toContain(`noise not measured on ${process.platform}`);
  });
});
