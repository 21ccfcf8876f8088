import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Whether Debian's `mosquitto` is installed. Where CI requires it (MQFED_REQUIRE_MOSQUITTO=1) a
 * missing one fails the run; elsewhere the Mosquitto tests skip with one line saying why.
 */
export const haveMosquitto = await promisify(execFile)('/usr/sbin/mosquitto', ['-h']).then(
  () => true,
  (error: { code?: unknown }) => error.code !== 'ENOENT',
);
if (!haveMosquitto) {
  if (process.env.MQFED_REQUIRE_MOSQUITTO === '1') {
    throw new Error('mosquitto is required here (MQFED_REQUIRE_MOSQUITTO=1) but missing');
  }
  console.warn('SKIPPED: Mosquitto bridge baseline (apt-get install mosquitto)');
}
