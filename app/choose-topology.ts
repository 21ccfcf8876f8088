import { buildImage } from '../docker/index.ts';
import {
  containerEngineAnswers,
  containersTopology,
  inProcessTopology,
  type Progress,
  processesTopology,
  type Scenario,
  swarmTopology,
  TestbedError,
  type Topology,
  type TopologyKind,
} from '../harness/index.ts';

/**
 * The topology a run uses: `--topology`, else the scenario's own. Containers need a Docker engine
 * (swarm: a Docker engine that manages a swarm) and the current image: without an engine, a scenario that merely prefers containers runs as
 * processes and says so in one line, while an explicit `--topology containers` fails; with one,
 * the image is built first (seconds when nothing changed), so containers run this code.
 */
export async function chooseTopology(
  scenario: Pick<Scenario, 'name' | 'topology'>,
  asked: TopologyKind | undefined,
  progress: Pick<Progress, 'log' | 'update' | 'clear'>,
  engine: { answers(): Promise<boolean>; buildImage: typeof buildImage } = {
    answers: () => containerEngineAnswers(),
    buildImage,
  },
): Promise<Topology> {
  const kind = asked ?? scenario.topology;
  if (kind === 'in-process') return inProcessTopology();
  if (kind === 'processes') return processesTopology();
  if (!(await engine.answers())) {
    // Swarm is asked for by name only (no scenario should silently leave its machines).
    if (asked === 'containers' || kind === 'swarm') {
      throw new TestbedError('CONTAINER_ENGINE_UNAVAILABLE', 'no Docker engine answers');
    }
    progress.log(`no Docker engine answers: running ${scenario.name} as processes instead`);
    return processesTopology();
  }
  progress.log('building the mqfed image (seconds when nothing changed)');
  await engine.buildImage({ onLine: (line) => progress.update(`image: ${line.slice(0, 70)}`) });
  progress.clear();
  // The engine must be a swarm manager: swarmTopology says so, with how to make it one, at start.
  return kind === 'swarm' ? swarmTopology() : containersTopology();
}
