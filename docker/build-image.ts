import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = fileURLToPath(new URL('./build-image.sh', import.meta.url));

/**
 * The image could not be built. A testbed failure, not a wire one: its code is not in the
 * protocol's catalogue (docs/results.md lists the testbed's codes). docker/ stands below the
 * harness, so it has this one error of its own; the CLI prints it as `mqfed: CODE: message`.
 */
export class ImageBuildError extends Error {
  readonly code = 'IMAGE_BUILD_FAILED';

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ImageBuildError';
  }
}

export interface BuildImageOptions {
  /** Each line the build prints (its steps); for a progress display. */
  onLine?: (line: string) => void;
}

/**
 * Builds the mqfed image from the sources beside this file with docker/build-image.sh, or,
 * when nothing changed, confirms it from Docker's layer cache in seconds: so a container run
 * always runs the code the harness runs. Fails with IMAGE_BUILD_FAILED and the build's last
 * lines.
 */
export async function buildImage(options: BuildImageOptions = {}): Promise<void> {
  const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    options.onLine?.(line);
  };
  createInterface({ input: child.stdout }).on('line', keep);
  createInterface({ input: child.stderr }).on('line', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).catch((error: Error) => {
    throw new ImageBuildError(`cannot run the image build: ${error.message}`, error);
  });
  if (code !== 0) {
    throw new ImageBuildError(`docker/build-image.sh exited with ${code}:\n${tail.join('\n')}`);
  }
}
