import { processesTopology } from './processes.ts';
import { topologyContract } from './topology.contract.ts';

topologyContract('processes', () => processesTopology());
