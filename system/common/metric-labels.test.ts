import { describe, expect, it } from 'vitest';
import { createHttpApp, listenOn } from './http-app.ts';
import { createLogger } from './logger.ts';
import { createMetricsRegistry } from './metrics.ts';

/** The distinct values of `label` over the series of `metric` in a scrape. */
function labelValues(scrape: string, metric: string, label: string): Set<string> {
  const values = new Set<string>();
  const pattern = new RegExp(`^${metric}\\{[^}]*${label}="([^"]*)"`, 'gm');
  for (const match of scrape.matchAll(pattern)) values.add(match[1] ?? '');
  return values;
}

describe('metric labels take their values from fixed sets, never from what a caller sends', () => {
  it('the route label of HTTP errors is the route pattern, or unknown', async () => {
    const metrics = createMetricsRegistry('test');
    const app = createHttpApp({ logger: createLogger('test', 'silent'), metrics, bodyLimit: 1024 });
    app.get('/items/:id', async () => {
      throw new Error('boom');
    });
    const url = await listenOn(app, '127.0.0.1', 0);
    try {
      for (let i = 0; i < 20; i++) {
        await fetch(`${url}/items/item-${i}`);
        await fetch(`${url}/nowhere-${i}/x`);
        await fetch(`${url}/items/%zz${i}`);
      }
      const scrape = await metrics.metrics();
      expect(labelValues(scrape, 'mqfed_http_errors_total', 'route')).toEqual(
        new Set(['/items/:id', 'unknown']),
      );
    } finally {
      await app.close();
    }
  });
});
