import type { EmulatedNetwork } from '../network/emulated-network.ts';
import type { StartedTopology } from './topology.ts';

/**
 * The `cutLinks`/`restoreLinks` fault actions of a topology whose peer links run through the
 * emulated network's relays; none when the run did not ask for cuttable links. One definition
 * for every kind, which differ only in how they check a broker name.
 */
export function linkCutActions(
  cuttable: boolean | undefined,
  network: Pick<EmulatedNetwork, 'cutLinks' | 'restoreLinks'>,
  known: (name: string) => unknown,
): Pick<StartedTopology, 'cutLinks' | 'restoreLinks'> {
  if (cuttable !== true) return {};
  return {
    async cutLinks(name: string) {
      known(name);
      network.cutLinks(name);
    },
    async restoreLinks(name: string) {
      known(name);
      network.restoreLinks(name);
    },
  };
}
