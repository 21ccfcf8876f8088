import { findMosquitto } from './mosquitto-binary.ts';

/**
 * The Mosquitto the tests compare with (`findMosquitto`: MQFED_MOSQUITTO, PATH, the usual
 * folders), if any. Where CI requires it (MQFED_REQUIRE_MOSQUITTO=1) a missing one fails the
 * run; elsewhere the Mosquitto tests skip with one line saying why.
 */
export const mosquitto = await findMosquitto();
export const haveMosquitto = mosquitto !== undefined;
if (!haveMosquitto) {
  if (process.env.MQFED_REQUIRE_MOSQUITTO === '1') {
    throw new Error('mosquitto is required here (MQFED_REQUIRE_MOSQUITTO=1) but missing');
  }
  console.warn(
    'SKIPPED: Mosquitto bridge baseline (apt-get install mosquitto, or MQFED_MOSQUITTO)',
  );
}
