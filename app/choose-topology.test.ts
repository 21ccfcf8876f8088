import { describe, expect, it } from 'vitest';
import { TestbedError } from '../harness/index.ts';
import { chooseTopology } from './choose-topology.ts';

/** A progress display that keeps its lines, and an engine that answers as told. */
function fakes(answers: boolean) {
  const lines: string[] = [];
  const builds: string[] = [];
  return {
    lines,
    builds,
    progress: { log: (line: string) => lines.push(line), update: () => {}, clear: () => {} },
    engine: {
      answers: async () => answers,
      buildImage: async () => {
        builds.push('built');
      },
    },
  };
}

const prefersContainers = { name: 'paper-3', topology: 'containers' as const };

describe('choosing the topology of a run', () => {
  it('falls back to processes, in one line, when a scenario prefers containers and no engine answers', async () => {
    const { lines, builds, progress, engine } = fakes(false);
    const topology = await chooseTopology(prefersContainers, undefined, progress, engine);
    expect(topology.kind).toBe('processes');
    expect(lines).toEqual(['no Docker engine answers: running paper-3 as processes instead']);
    expect(builds).toEqual([]);
  });

  it('refuses an explicit --topology containers without an engine, with a stable code', async () => {
    const { progress, engine } = fakes(false);
    const error = await chooseTopology(prefersContainers, 'containers', progress, engine).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestbedError);
    expect((error as TestbedError).code).toBe('CONTAINER_ENGINE_UNAVAILABLE');
  });

  it('builds the image, then runs on containers, when an engine answers', async () => {
    const { builds, progress, engine } = fakes(true);
    const topology = await chooseTopology(prefersContainers, undefined, progress, engine);
    expect(topology.kind).toBe('containers');
    expect(builds).toEqual(['built']);
  });

  it('lets --topology win over the scenario, and asks no engine for processes', async () => {
    const { builds, progress, engine } = fakes(true);
    expect((await chooseTopology(prefersContainers, 'in-process', progress, engine)).kind).toBe(
      'in-process',
    );
    expect(
      (await chooseTopology({ name: 'x', topology: 'processes' }, undefined, progress, engine))
        .kind,
    ).toBe('processes');
    expect(builds).toEqual([]);
  });
});
