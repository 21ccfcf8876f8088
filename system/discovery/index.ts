// The directory, a watch's view and the matcher are exported for bench/matching-bench.ts, the
// session directory for bench/session-directory-bench.ts.
export { type BrokerRecord, createBrokerDirectory } from './broker-directory.ts';
export {
  createDiscoveryClient,
  type DiscoveryClient,
  type DiscoveryClientOptions,
  type RegisterBrokerInput,
  type WatchOptions,
} from './discovery-client.ts';
export { type DiscoveryService, startDiscoveryService } from './discovery-service.ts';
export {
  type DiscoveryServiceOptions,
  discoveryServiceDefaults,
  resolveDiscoveryServiceOptions,
} from './discovery-service-options.ts';
export { createFilterMatcher, type FilterMatcher } from './filter-matcher.ts';
export {
  createSessionDirectory,
  type SessionDirectory,
  type SessionEntry,
} from './session-directory.ts';
export {
  maxClientIdBytes,
  maxRestoreIds,
  type SessionClaim,
  type SessionRecord,
  type SessionRestore,
} from './session-wire.ts';
export type { TopicDelta } from './topic-index.ts';
export type { Watch, WatchClosed } from './watch-client.ts';
export {
  decodeWatchClientFrame,
  MAX_FILTERS_PER_WATCH,
  WATCH_PATH,
  type WatchClientFrame,
  type WatchControlFrame,
  type WatchEvent,
  type WatchLeaveReason,
  type WatchServerFrame,
  watchClientFrameSchemas,
} from './watch-frames.ts';
export { createWatchView, type WatchSelection, type WatchView } from './watch-view.ts';
