import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../harness/index.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const files = (await readdir(dir)).filter(
  (file) => file.endsWith('.ts') && !file.includes('.test.'),
);

describe('every shipped scenario', () => {
  it('is found', () => {
    expect(files.sort()).toEqual([
      'broker-crash.ts',
      'commuters.ts',
      'crowd-xl.ts',
      'crowd.ts',
      'fan-in.ts',
      'fan-out.ts',
      'handover-storm.ts',
      'link-flap.ts',
      'paper-1.ts',
      'paper-2.ts',
      'paper-3.ts',
    ]);
  });

  it.each(files)(
    '%s validates, is named after its file, and a quick run fits in a minute',
    async (file) => {
      const scenario = await loadScenario(`${dir}${file}`);
      expect(scenario.name).toBe(file.slice(0, -3));
      const timing = scenario.quick ?? scenario;
      const perVariant = timing.durationMs + scenario.drainMs;
      expect(perVariant * scenario.variants.length).toBeLessThan(60_000);
    },
  );
});
