export { type BrokerService, startBrokerService } from './broker-service.ts';
export {
  type BrokerServiceOptions,
  brokerServiceDefaults,
  resolveBrokerServiceOptions,
} from './broker-service-options.ts';
export { PEER_LINK_PATH } from './link-server.ts';
export {
  type LocalFederation,
  type LocalFederationOptions,
  localFederationDefaults,
  startLocalFederation,
} from './local-federation.ts';
export type { LinkEvent } from './peer-link.ts';
export { indexPeerTopics, type LinkSnapshot, wantedFrom } from './peer-links.ts';
// For bench/topic-space-bench.ts, which measures what it holds.
export { TopicSpace } from './topic-space.ts';
