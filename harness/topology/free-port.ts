import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/**
 * A free TCP port of this machine, found by binding port 0 and closing again: for a service that
 * needs its port number before it starts (a Mosquitto config file, a port a swarm publishes).
 */
export async function freePort(host = '0.0.0.0'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
