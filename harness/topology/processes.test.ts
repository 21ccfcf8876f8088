import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { processesTopology } from './processes.ts';
import { topologyContract } from './topology.contract.ts';

topologyContract('processes', () => processesTopology());

/** The NUL-separated `/proc/<pid>/<file>` of a process, as a list. */
async function procList(pid: number, file: 'cmdline' | 'environ'): Promise<string[]> {
  return (await readFile(`/proc/${pid}/${file}`, 'utf8')).split('\0').filter((s) => s !== '');
}

describe.skipIf(!existsSync('/proc/self/cmdline'))('the secrets of a processes topology', () => {
  it('stay off the command line of every process it starts', async () => {
    await using topology = await processesTopology().start({ brokers: ['north', 'south'] });
    const pids = [...(topology.processIds?.().values() ?? [])];
    expect(pids).toHaveLength(4);
    // The secrets themselves, from where they travel now: each service's own environment, which
    // only its owner may read (a command line is readable by every user of the machine).
    const secrets = (await Promise.all(pids.map((pid) => procList(pid, 'environ'))))
      .flat()
      .filter((entry) => /^MQFED_(ADMIN_CREDENTIAL|BROKER_SECRET)=/.test(entry))
      .map((entry) => entry.slice(entry.indexOf('=') + 1));
    // The admin credential (auth) and one secret for each broker.
    expect(secrets).toHaveLength(3);
    for (const pid of pids) {
      const args = await procList(pid, 'cmdline');
      expect(args).not.toContain('--secret');
      expect(args).not.toContain('--admin-credential');
      for (const secret of secrets) expect(args.join(' ')).not.toContain(secret);
    }
  });
});

describe.skipIf(!existsSync('/proc/self/cmdline'))('the data of a processes topology', () => {
  it('reaches each broker as MQFED_DATA_DIR, a folder of its own that its restart gets again', async () => {
    await using topology = await processesTopology().start({ brokers: ['north', 'south'] });
    const dataDirOf = async (name: string) =>
      (await procList(topology.processIds!().get(name)!, 'environ'))
        .find((entry) => entry.startsWith('MQFED_DATA_DIR='))
        ?.slice('MQFED_DATA_DIR='.length);
    const north = await dataDirOf('north');
    expect(north).toBe(topology.dataDir?.('north'));
    expect(await dataDirOf('south')).toBe(topology.dataDir?.('south'));
    expect(north).not.toBe(await dataDirOf('south'));
    await topology.kill?.('north');
    await topology.restart('north');
    expect(await dataDirOf('north')).toBe(north);
  });
});
