import { createAuthClient, type TokenVerifier } from '../auth/index.ts';
import { isLoopbackHost, type Logger } from '../common/index.ts';
import { brokerTarget } from '../protocol/index.ts';
import type { ResolvedBrokerServiceOptions } from './broker-service-options.ts';
import { createClientAuth } from './mqtt-client-auth.ts';
import { capClients } from './mqtt-client-cap.ts';
import { type ClientGuard, createClientGuard } from './mqtt-client-guard.ts';
import type { ClientRefusalReason } from './mqtt-client-refusals.ts';

/**
 * The client guard of one broker service, from its options: client secrets are checked by the
 * auth service (a token for this broker, `POST /token`), tokens by the broker's own verifier.
 */
export function clientGuardFor(
  config: ResolvedBrokerServiceOptions,
  verifier: TokenVerifier,
  logger: Logger,
  refused: (reason: ClientRefusalReason) => void,
): ClientGuard {
  const authClient =
    config.authUrl === undefined
      ? undefined
      : createAuthClient({ url: config.authUrl, tls: config.tls });
  // Every client listener binds `host` or loopback (see startMqttServer), so loopback `host`
  // means nobody off this machine can connect.
  const allowAnonymous = config.allowAnonymous || isLoopbackHost(config.host);
  if (config.allowAnonymous && !isLoopbackHost(config.host)) {
    logger.warn({ host: config.host }, 'anonymous MQTT clients allowed on a non-loopback address');
  }
  const guard = createClientGuard({
    auth: createClientAuth({
      verifier,
      login:
        authClient === undefined
          ? undefined
          : async (id, secret) =>
              (await authClient.issueToken({ id, secret }, brokerTarget(config.id))).token,
      allowAnonymous,
      clock: config.clock,
    }),
    limits: config,
    clock: config.clock,
    logger,
    refused,
  });
  return capClients(guard, {
    maxClients: config.maxClients,
    clock: config.clock,
    logger,
    refused,
  });
}
