import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../system/common/testing.ts';
import { MqfedError } from '../system/protocol/index.ts';
import { loadScenario } from './load-scenario.ts';

describe('loading a scenario', () => {
  it('finds a scenario by name under scenarios/', async () => {
    const scenario = await loadScenario('paper-1');
    expect(scenario.name).toBe('paper-1');
    expect(scenario.variants).toHaveLength(6);
  });

  it('validates a file written without defineScenario, naming the broken field', async () => {
    await using dir = await tempDir('mqfed-scenario-');
    const file = join(dir.path, 'hand-made.mjs');
    await writeFile(
      file,
      `export default { name: 'hand-made', brokers: ['a'], durationMs: 1000, warmupMs: 0,
        clients: { publishers: [{ name: 'p', broker: 'a', rate: 'fast', topics: ['x'] }],
                   subscribers: [{ name: 's', broker: 'a', filters: ['x'] }] },
        variants: [{ name: 'v' }], paper: { overhead: null, note: '' } };`,
    );
    const error = await loadScenario(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MqfedError);
    expect((error as MqfedError).code).toBe('INVALID_REQUEST');
    expect((error as MqfedError).message).toContain('clients.publishers.0.rate:');
  });

  it('refuses a name with no file', async () => {
    await expect(loadScenario('no-such-scenario')).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});
