import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MqfedError } from '../system/protocol/index.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('./build-image.sh', import.meta.url));

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
    throw new MqfedError('IMAGE_BUILD_FAILED', `cannot run the image build: ${error.message}`);
  });
  if (code !== 0) {
    throw new MqfedError(
      'IMAGE_BUILD_FAILED',
      `docker/build-image.sh exited with ${code}:\n${tail.join('\n')}`,
    );
  }
}
