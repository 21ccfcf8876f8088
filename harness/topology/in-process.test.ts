import { inProcessTopology } from './in-process.ts';
import { topologyContract } from './topology.contract.ts';

topologyContract('in-process', () => inProcessTopology());
