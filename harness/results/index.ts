/**
 * The results document: its schema and types, the reader of older versions, and the statistics
 * over repetitions. [design] A unit of its own with no dependency on the runner, so reports and
 * benchmarks read results without loading topologies, clients or services.
 */
export * from './delivery-accounts.ts';
export * from './handover-stats.ts';
export * from './host-load.ts';
export * from './latency.ts';
export * from './results-schema.ts';
export * from './statistics.ts';
export * from './upgrade-results.ts';
