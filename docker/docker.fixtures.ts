import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Whether a Docker engine answers. In CI (MQFED_REQUIRE_DOCKER=1) a missing or failing engine
 * fails the run; on a developer's machine without one, the container tests skip with one line.
 */
export const haveDocker = await promisify(execFile)(
  'docker',
  ['info', '--format', '{{.ServerVersion}}'],
  {
    timeout: 15_000,
  },
).then(
  () => true,
  () => false,
);
if (!haveDocker) {
  if (process.env.MQFED_REQUIRE_DOCKER === '1') {
    throw new Error(
      'a Docker engine is required here (MQFED_REQUIRE_DOCKER=1) but does not answer',
    );
  }
  console.warn('SKIPPED: container tests (no Docker engine answers `docker info`)');
}
