import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualClock, tempDir } from '../common/testing.ts';
import { createDurablePersistence } from './durable-persistence.ts';

/** Versions and tombstones live in the session store's retained rows and come back on restart. */

const retained = (topic: string, payload: string) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: true,
  dup: false,
});

describe('retained versions in the session store', () => {
  it('survive a restart, tombstones included, and keep the version clock from going back', async () => {
    await using dir = await tempDir('mqfed-retained-rows-');
    const path = join(dir.path, 'sessions.sqlite');
    const clock = manualClock(5_000_000);
    const first = createDurablePersistence({ path, retained: { clock, tombstoneMs: 60_000 } });
    await first.setup({ id: 'b1', counter: 0 });
    await first.storeRetained(retained('kept', 'value'));
    await first.storeRetained(retained('gone', 'value'));
    await first.storeRetained(retained('gone', ''));
    const kept = first.retainedVersions.held('kept');
    const gone = first.retainedVersions.held('gone');
    expect(gone?.deleted).toBe(true);
    await first.destroy();

    // The clock went back an hour while the broker was down.
    const earlier = manualClock(5_000_000 - 3_600_000);
    const second = createDurablePersistence({
      path,
      retained: { clock: earlier, tombstoneMs: 60_000 },
    });
    await second.setup({ id: 'b1', counter: 0 });
    expect(second.retainedVersions.held('kept')).toEqual(kept);
    expect(second.retainedVersions.held('gone')).toEqual(gone);
    expect(second.retainedVersions.issue('other').time).toBeGreaterThan(gone!.version.time);
    const restored = [];
    for await (const entry of second.retainedMatching(['#'], () => true)) restored.push(entry);
    expect(restored.map(({ topic, payload }) => [topic, payload.toString()])).toEqual([
      ['kept', 'value'],
      ['gone', ''],
    ]);
    await second.destroy();
  });

  it('drops a tombstone that expired while the broker was down, row and all', async () => {
    await using dir = await tempDir('mqfed-retained-rows-');
    const path = join(dir.path, 'sessions.sqlite');
    const clock = manualClock(1_000_000);
    const first = createDurablePersistence({ path, retained: { clock, tombstoneMs: 1_000 } });
    await first.setup({ id: 'b1', counter: 0 });
    await first.storeRetained(retained('gone', 'value'));
    await first.storeRetained(retained('gone', ''));
    await first.destroy();

    clock.advance(1_000);
    for (let restart = 0; restart < 2; restart++) {
      const again = createDurablePersistence({ path, retained: { clock, tombstoneMs: 1_000 } });
      await again.setup({ id: 'b1', counter: 0 });
      expect(again.retainedVersions.held('gone')).toBeUndefined();
      expect(again.retainedVersions.tombstoneCount).toBe(0);
      await again.destroy();
    }
  });
});
