// Runs inside `docker build` (deps stage of docker/Dockerfile), as plain JavaScript because the
// image has no TypeScript tooling and the local base has no shell. It leaves exactly the
// production dependencies in /app/node_modules and fails the build otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

if (existsSync('node_modules')) {
  console.log('install-prod-deps: using the production dependencies staged by build-image.sh');
} else {
  // Built from the repository root: install here. --ignore-scripts because no production
  // dependency needs its install script (ssh2 and cpu-features only try optional native
  // speed-ups), and a slim base has no compiler for them anyway.
  const npm = spawnSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'],
    {
      stdio: 'inherit',
    },
  );
  if (npm.error !== undefined) {
    console.error(
      `install-prod-deps: cannot run npm (${npm.error.message}). A base image without npm, like the one docker/build-local-base.sh makes, needs the dependencies staged: build with docker/build-image.sh.`,
    );
    process.exit(1);
  }
  if (npm.status !== 0) process.exit(npm.status ?? 1);
}

// Whatever way they came, dev-only packages (vitest, typescript, biome, playwright-core ...)
// must not be in the image. The lock file marks them `dev: true`.
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const devOnly = Object.entries(lock.packages ?? {})
  .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
  .map(([path]) => path)
  .filter((path) => existsSync(path));
if (devOnly.length > 0) {
  console.error(
    `install-prod-deps: dev-only packages present: ${devOnly.slice(0, 10).join(', ')}${devOnly.length > 10 ? ' ...' : ''}`,
  );
  process.exit(1);
}
