import { beforeAll } from 'vitest';
import { haveDocker } from '../../docker/docker.fixtures.ts';
import { buildImage } from '../../docker/index.ts';
import { containersTopology } from './containers.ts';
import { topologyContract } from './topology.contract.ts';

beforeAll(async () => {
  if (haveDocker) await buildImage();
});

topologyContract('containers', () => containersTopology(), !haveDocker);
