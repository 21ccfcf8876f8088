import { RESULTS_SCHEMA, RESULTS_SCHEMA_V1 } from './results-schema.ts';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const one = (estimate: unknown) => {
  const value = typeof estimate === 'number' ? estimate : 0;
  return { estimate: value, lo: value, hi: value, n: 1 };
};

/**
 * A `mqfed.results/v1` document as v2: a run of one repetition, with nothing measured of the
 * floor, the noise, publisher lag or cost (null, or empty) [design]. Anything else is returned
 * unchanged for the v2 schema to judge, so a broken v1 document still gets field-naming errors.
 * Old baselines kept by a CI job stay comparable this way.
 */
export function upgradeResults(value: unknown): unknown {
  if (!isObject(value) || value.schema !== RESULTS_SCHEMA_V1) return value;
  const startedAt = value.startedAt;
  const variants = Array.isArray(value.variants) ? value.variants : [];
  const comparison = isObject(value.comparison) ? value.comparison : null;
  return {
    ...value,
    schema: RESULTS_SCHEMA,
    repetitions: 1,
    floor: null,
    noise: null,
    variants: variants.map((variant: unknown) => {
      if (!isObject(variant)) return variant;
      const latency = isObject(variant.latencyMs) ? variant.latencyMs : {};
      const byPath = isObject(variant.byPath)
        ? Object.fromEntries(
            Object.entries(variant.byPath).map(([path, figures]) => {
              if (!isObject(figures)) return [path, figures];
              const { histogram: _histogram, ...rest } = figures;
              return [path, rest];
            }),
          )
        : undefined;
      const cost = {
        delivered: typeof variant.received === 'number' ? variant.received : 0,
        cpuUsPerMessage: {},
        linkBytesPerMessage: null,
      };
      return {
        ...variant,
        publisherLagMs: null,
        cost,
        intervals: { p50Ms: one(latency.p50), p99Ms: one(latency.p99) },
        repetitions: [
          {
            index: 0,
            startedAt,
            latencyMs: variant.latencyMs,
            sent: variant.sent,
            received: variant.received,
            lost: variant.lost,
            duplicates: variant.duplicates,
            reordered: variant.reordered,
            ...(byPath === undefined ? {} : { byPath }),
            publisherLagMs: null,
            cost,
          },
        ],
      };
    }),
    comparison:
      comparison === null
        ? null
        : {
            ...comparison,
            paths: ['same-broker', 'cross-broker'],
            intervals: {
              overheadP50: one(comparison.overheadP50),
              overheadP99: one(comparison.overheadP99),
              sameBrokerP50Ms: one(comparison.sameBrokerP50Ms),
              crossBrokerP50Ms: one(comparison.crossBrokerP50Ms),
            },
            perRepetition: [
              {
                sameBrokerP50Ms: comparison.sameBrokerP50Ms,
                crossBrokerP50Ms: comparison.crossBrokerP50Ms,
                overheadP50: comparison.overheadP50,
                overheadP99: comparison.overheadP99,
              },
            ],
          },
  };
}
