import type { Logger } from '../common/index.ts';
import type { ProvisionedService } from './provision-manifest.ts';
import type { RevocationList } from './revocation-list.ts';
import type { ServiceRegistry } from './service-registry.ts';

export interface ProvisionSummary {
  registered: string[];
  updated: string[];
  unchanged: string[];
}

/**
 * Brings the registry in line with the manifest, before the service listens. The manifest is the
 * truth for the ids it names; ids it does not name are left alone (registered through the admin
 * API, say). A replaced secret revokes every token the old one yielded, as `rotate-secret`
 * does; a changed role or scope takes effect with the next token (at most one token lifetime).
 * Idempotent: the same manifest again changes nothing. Secrets never reach the log. [design]
 */
export async function provisionServices(
  services: readonly ProvisionedService[],
  registry: ServiceRegistry,
  revocations: RevocationList,
  logger: Logger,
): Promise<ProvisionSummary> {
  const summary: ProvisionSummary = { registered: [], updated: [], unchanged: [] };
  // Ids whose new tokens must be dated after a subject revocation entry: a replaced secret, or
  // an id registered again after a revocation.
  const fresh: string[] = [];
  for (const service of services) {
    const outcome = await registry.provision(service);
    if (outcome.secretReplaced) {
      revocations.revokeSubject(service.id, 'secret-rotated');
    }
    if (outcome.registered || outcome.secretReplaced) fresh.push(service.id);
    const list = outcome.registered
      ? summary.registered
      : outcome.scopesChanged || outcome.secretReplaced
        ? summary.updated
        : summary.unchanged;
    list.push(service.id);
    logger.info(
      { id: service.id, role: service.role, ...outcome },
      outcome.registered ? 'service provisioned' : 'provisioned service checked',
    );
  }
  // Under a second: `iat` has whole seconds (revocation-list.ts).
  await Promise.all(fresh.map((id) => revocations.settled(id)));
  return summary;
}
