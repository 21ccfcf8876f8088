import { randomBytes } from 'node:crypto';
import { createSecret, type Dockerode } from './swarm-engine.ts';

/** A Docker secret as a service mounts it: /run/secrets/<file>. */
export interface MountedSecret {
  id: string;
  name: string;
  file: string;
}

/** Where each broker finds its own secret in its task. */
const BROKER_FILE = 'broker-secret';

/**
 * The secrets of a swarm run, made before any service starts: auth's admin credential, a
 * secret per broker, and auth's provisioning manifest, which names each broker, its role and
 * scopes, and the file its secret is mounted at in auth's task. [design] Auth registers the
 * brokers from these at start (`mqfed auth serve --provision`), so no secret crosses the
 * network, the harness never holds the admin credential in a request, and a broker's secret is
 * a file only auth and that broker mount. The admin credential is still made (auth requires one)
 * but nothing uses it.
 */
export async function swarmProvisioning(
  docker: Dockerode,
  prefix: string,
  labels: Record<string, string>,
  brokers: readonly string[],
) {
  const make = async (name: string, value: string, file: string): Promise<MountedSecret> => {
    const { SecretID, SecretName } = await createSecret(docker, `${prefix}-${name}`, value, labels);
    return { id: SecretID, name: SecretName, file };
  };
  const admin = await make('admin', randomBytes(24).toString('base64url'), 'admin-credential');
  const brokerSecrets = new Map<string, MountedSecret>();
  for (const broker of brokers) {
    brokerSecrets.set(
      broker,
      await make(`secret-${broker}`, randomBytes(32).toString('base64url'), `broker-${broker}`),
    );
  }
  const manifest = {
    services: brokers.map((broker) => ({
      id: broker,
      role: 'broker',
      topics: { pub: ['#'], sub: ['#'] },
      secretFile: `/run/secrets/broker-${broker}`,
    })),
  };
  const provision = await make('provision', JSON.stringify(manifest), 'provision.json');
  const forAuth = [admin, provision, ...brokerSecrets.values()];
  return {
    ids: forAuth.map((secret) => secret.id),
    forAuth,
    authEnv: {
      MQFED_ADMIN_CREDENTIAL_FILE: `/run/secrets/${admin.file}`,
      MQFED_AUTH_PROVISION: `/run/secrets/${provision.file}`,
    },
    brokerFile: BROKER_FILE,
    /** A broker's own secret, mounted where its MQFED_BROKER_SECRET_FILE points. */
    forBroker: (broker: string): MountedSecret => ({
      ...(brokerSecrets.get(broker) as MountedSecret),
      file: BROKER_FILE,
    }),
  };
}
