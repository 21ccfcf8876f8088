export * from './clock.ts';
export * from './http-app.ts';
export * from './json-client.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './running-service.ts';
export * from './seeded-random.ts';
export * from './websocket-upgrade.ts';
