import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress } from '../harness/progress.ts';
import { runFuzz } from './fuzz-run.ts';
import { startFuzzServices } from './fuzz-services.ts';

/** Progress lines go nowhere: the test reads the results. */
const quiet = new Progress(
  new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream,
);

describe('npm run fuzz, short', () => {
  it('sends frames at every target and finds no crash, no 5xx answer and no anomaly', {
    timeout: 180_000,
  }, async () => {
    const results = await runFuzz({
      frames: 2_000,
      seed: 20_261_202,
      warmupFrames: 300,
      progress: quiet,
    });

    expect(results.crashes).toEqual([]);
    expect(results.serverErrors).toBe(0);
    expect(results.targets.flatMap((target) => target.examples)).toEqual([]);
    expect(results.anomalies).toBe(0);
    expect(results.targets.map((target) => target.target)).toEqual(['peer', 'watch', 'http']);
    for (const target of results.targets) expect(target.frames).toBeGreaterThanOrEqual(450);
    // The generators reach past the front door: sockets were upgraded, bad frames made the
    // services close them with catalogue codes, and HTTP routes answered both yes and no.
    const [peer, watch, http] = results.targets;
    expect(peer!.statuses['101']).toBeGreaterThan(0);
    expect(Object.keys(peer!.closes).some((close) => /^(1007|4400) /.test(close))).toBe(true);
    expect(Object.keys(watch!.closes).some((close) => close.startsWith('4400 '))).toBe(true);
    expect(http!.statuses['200']).toBeGreaterThan(0);
    expect(http!.statuses['401']).toBeGreaterThan(0);
    // A short run cannot tell a leak from warm-up; it only checks that memory was read.
    expect(results.memory.after.heapUsed).toBeGreaterThan(0);
  });

  it('counts a services process that dies as a crash', { timeout: 120_000 }, async () => {
    await using services = await startFuzzServices();
    process.kill(services.ready.pid, 'SIGKILL');
    const crash = await services.crashed;
    // Its exit is seen at once; a health probe in flight at that moment may see it first.
    expect(crash.kind === 'exit' ? crash.detail : crash.kind).toMatch(
      /^(exited with SIGKILL|healthz)$/,
    );
  });
});
