import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, mosquitto } from './mosquitto.fixtures.ts';
import {
  findMosquitto,
  MOSQUITTO_ENV,
  requireMosquitto,
  searchOrder,
  versionIn,
} from './mosquitto-binary.ts';

const bin = fileURLToPath(new URL('../../bin/mqfed.js', import.meta.url));

let dir: string;
/** An executable that runs but is not Mosquitto. */
let impostor: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqfed-mosquitto-binary-'));
  impostor = join(dir, 'impostor', 'mosquitto');
  await mkdir(join(dir, 'impostor'));
  await writeFile(impostor, '#!/bin/sh\necho "usage: something else"\nexit 1\n');
  await chmod(impostor, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the Mosquitto version line', () => {
  it('is read from what `mosquitto -h` prints', () => {
    const help = 'mosquitto version 2.0.11\n\nmosquitto is an MQTT v5.0/v3.1.1/v3.1 broker.\n';
    expect(versionIn(help)).toBe('2.0.11');
    expect(versionIn('\nmosquitto version 2.0.18-1+b1\n')).toBe('2.0.18-1+b1');
  });

  it('is refused when absent, overlong or not a version token', () => {
    expect(versionIn('usage: something else')).toBeUndefined();
    expect(versionIn(`mosquitto version ${'9'.repeat(33)}`)).toBeUndefined();
    expect(versionIn('mosquitto version 2.0.11 <script>')).toBeUndefined();
    expect(versionIn('my mosquitto version 2.0.11')).toBeUndefined();
  });
});

describe('the search order', () => {
  it('takes absolute PATH folders first, then the usual folders, each once', () => {
    expect(
      searchOrder('/opt/m/bin:relative/bin::/usr/sbin', ['/usr/sbin', '/usr/local/sbin']),
    ).toEqual(['/opt/m/bin/mosquitto', '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']);
  });
});

describe('finding Mosquitto', () => {
  it('refuses a relative MQFED_MOSQUITTO', async () => {
    await expect(findMosquitto({ [MOSQUITTO_ENV]: 'sbin/mosquitto' })).rejects.toMatchObject({
      code: 'MOSQUITTO_NOT_FOUND',
      message: expect.stringContaining('absolute path'),
    });
  });

  it('refuses an MQFED_MOSQUITTO that does not exist, rather than looking elsewhere', async () => {
    const missing = join(dir, 'nowhere', 'mosquitto');
    await expect(findMosquitto({ [MOSQUITTO_ENV]: missing, PATH: '' })).rejects.toMatchObject({
      code: 'MOSQUITTO_NOT_FOUND',
      message: expect.stringContaining(`${MOSQUITTO_ENV}=${missing}: no such file`),
    });
  });

  it('refuses an MQFED_MOSQUITTO that runs but is not Mosquitto', async () => {
    await expect(findMosquitto({ [MOSQUITTO_ENV]: impostor })).rejects.toMatchObject({
      code: 'MOSQUITTO_NOT_FOUND',
      message: expect.stringContaining('does not say it is Mosquitto'),
    });
  });

  it('finds none, and says how to name one, where no folder has it', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const env = { PATH: `${empty}:${join(dir, 'impostor')}` };
    await expect(findMosquitto(env, [empty])).resolves.toBeUndefined();
    await expect(requireMosquitto(env, [empty])).rejects.toMatchObject({
      code: 'MOSQUITTO_NOT_FOUND',
      message: expect.stringContaining(`${MOSQUITTO_ENV}=/path/to/mosquitto`),
    });
  });

  it.skipIf(!haveMosquitto)(
    'passes over an impostor on PATH to the real one, with its version',
    async () => {
      const found = await findMosquitto({ PATH: `${join(dir, 'impostor')}:/usr/bin:/bin` });
      expect(found?.path).toBe(mosquitto?.path);
      expect(found?.version).toMatch(/^\d+\.\d+\.\d+/);
    },
  );

  it.skipIf(!haveMosquitto)('takes the one MQFED_MOSQUITTO names, through a link', async () => {
    const named = join(dir, 'named-mosquitto');
    await symlink(mosquitto!.path, named);
    const found = await findMosquitto({ [MOSQUITTO_ENV]: named, PATH: '' });
    expect(found).toEqual({ path: named, version: mosquitto!.version });
  });
});

describe('a run with the Mosquitto baseline', () => {
  it('stops before anything runs when there is no Mosquitto, with the code and the way out', async () => {
    const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          bin,
          'run',
          'paper-1',
          '--baseline',
          'mosquitto-bridge',
          '--quick',
          '--out',
          join(dir, 'results.json'),
        ],
        {
          timeout: 60_000,
          env: { ...process.env, [MOSQUITTO_ENV]: join(dir, 'nowhere', 'mosquitto') },
        },
        (error, _stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number((error as { code?: number }).code), stderr }),
      );
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('MOSQUITTO_NOT_FOUND');
    expect(run.stderr).toContain(`${MOSQUITTO_ENV}=`);
  });
});
