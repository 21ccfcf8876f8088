import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { haveDocker } from './docker.fixtures.ts';

/**
 * Whether the local Docker engine is a Swarm manager (after `docker swarm init`). In CI
 * (MQFED_REQUIRE_SWARM=1, set by .ci/run after it initialises a one-node swarm) a missing swarm
 * fails the run; on a developer's machine without one, the Swarm tests skip with one line.
 * [design] The tests never init or leave a swarm themselves: joining the engine to a swarm
 * changes it for everything else on the machine, so that is the operator's (or CI's) step.
 */
export const haveSwarm =
  haveDocker &&
  (await promisify(execFile)(
    'docker',
    ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'],
    { timeout: 15_000 },
  ).then(
    ({ stdout }) => stdout.trim() === 'active true',
    () => false,
  ));
if (!haveSwarm) {
  if (process.env.MQFED_REQUIRE_SWARM === '1') {
    throw new Error(
      'a Docker Swarm manager is required here (MQFED_REQUIRE_SWARM=1) but the engine is not one',
    );
  }
  console.warn(
    'SKIPPED: Swarm tests (the Docker engine is not a swarm manager: docker swarm init)',
  );
}
