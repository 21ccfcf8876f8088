import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock, Logger } from '../common/index.ts';
import type { PublishFrame } from '../protocol/index.ts';
import type { DurablePersistence } from './durable-persistence.ts';
import type { ClientGuard } from './mqtt-client-guard.ts';
import type { PeerApi, PeerApiCaller } from './peer-api.ts';
import type { PeerDirectory } from './peer-directory.ts';
import { createRetainedFetcher } from './retained-fetch.ts';
import { createRetainedMetrics, type RetainedMetrics } from './retained-metrics.ts';
import { registerRetainedRoutes } from './retained-routes.ts';
import type { RetainedVersion } from './retained-versions.ts';
import type { FetchedRetained } from './retained-wire.ts';

export interface RetainedFederationOptions {
  persistence: DurablePersistence;
  guard: Pick<ClientGuard, 'admitPeerRetain'>;
  registry: Registry;
  logger: Logger;
  clock: Clock;
  /** What this broker may consume from peers (its token's `sub` scope). */
  scope: readonly string[];
  retainedFetchDeadlineMs: number;
  retainedFetchMaxMessages: number;
  retainedFetchMaxBytes: number;
  retainedFetchMaxResponseBytes: number;
  retainedMaxClockSkewMs: number;
}

/** Retained messages federation-wide (docs/protocol.md, "Delivery guarantees → Retain"). */
export interface RetainedFederation {
  readonly metrics: RetainedMetrics;
  /**
   * A local client's retained publish about to be forwarded: its fresh version, tagged on its
   * payload so the store keeps it under the same one. Answers the version time for the wire.
   */
  versionLocal(topic: string, payload: Buffer): number;
  /**
   * A retained PUBLISH from a peer: the payload to hand aedes as retained (a copy of its own,
   * tagged with the frame's version), or undefined when it is not to be kept (older than what is
   * held, future-dated, or over the bounds); it is then delivered live all the same.
   */
  keepFromPeer(frame: PublishFrame): Buffer | undefined;
  /** Registers `POST /peer-api/retained` (before the app listens). */
  registerRoutes(app: FastifyInstance, peerApi: PeerApi): void;
  /** New subscriptions fetch from the peers `directory` shows, from now on. */
  fetchFrom(directory: Pick<PeerDirectory, 'peers'>, caller: PeerApiCaller): void;
}

export function createRetainedFederation(options: RetainedFederationOptions): RetainedFederation {
  const { persistence, guard, clock } = options;
  const versions = persistence.retainedVersions;
  const metrics = createRetainedMetrics(options.registry, () => versions.tombstoneCount);

  /** Whether a peer's message of `version` (`bytes` long, 0 for a delete) may be stored. */
  const admit = (topic: string, version: RetainedVersion, bytes: number): boolean => {
    if (!versions.isNewer(topic, version)) {
      metrics.dropped.inc({ reason: 'older' });
      return false;
    }
    if (version.time > clock.now() + options.retainedMaxClockSkewMs) {
      metrics.dropped.inc({ reason: 'future' });
      return false;
    }
    if (!guard.admitPeerRetain(version.origin, topic, bytes)) {
      metrics.dropped.inc({ reason: 'bounds' });
      return false;
    }
    return true;
  };

  const storeFetched = async (entry: FetchedRetained): Promise<void> => {
    const version = { time: entry.time, origin: entry.origin };
    // Most of what a fetch returns is already held, at the same version: not worth a count.
    if (!versions.isNewer(entry.topic, version)) return;
    const decoded = entry.deleted === true ? Buffer.alloc(0) : Buffer.from(entry.payload, 'base64');
    if (!admit(entry.topic, version, decoded.length)) return;
    // Kept for good: a buffer of its own, not a slice of a pooled one (see broker-service.ts).
    const payload = Buffer.from(new Uint8Array(decoded).buffer);
    versions.tag(payload, version);
    await persistence.storeRetained({
      cmd: 'publish',
      topic: entry.topic,
      payload,
      qos: Math.min(entry.qos, 1),
      retain: true,
      dup: false,
    });
    metrics.fetchedStored.inc();
  };

  return {
    metrics,
    versionLocal(topic, payload) {
      const version = versions.issue(topic);
      versions.tag(payload, version);
      return version.time;
    },
    keepFromPeer(frame) {
      const version = { time: frame.versionTime ?? 0, origin: frame.origin };
      if (!admit(frame.topic, version, frame.payload.length)) return undefined;
      // A retained payload is kept for good: copied into a buffer of its own, since a small
      // pooled copy would pin a whole 8 KiB pool slab (found by `npm run fuzz`).
      const payload = Buffer.from(new Uint8Array(frame.payload).buffer);
      versions.tag(payload, version);
      return payload;
    },
    registerRoutes(app, peerApi) {
      registerRetainedRoutes(app, {
        peerApi,
        persistence,
        maxMessages: options.retainedFetchMaxMessages,
        maxBytes: options.retainedFetchMaxBytes,
        metrics,
      });
    },
    fetchFrom(directory, caller) {
      persistence.useRetainedSource(
        createRetainedFetcher({
          caller,
          peers: () => directory.peers(),
          scope: options.scope,
          deadlineMs: options.retainedFetchDeadlineMs,
          maxResponseBytes: options.retainedFetchMaxResponseBytes,
          metrics,
          logger: options.logger,
          store: storeFetched,
        }),
      );
    },
  };
}
