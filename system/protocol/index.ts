export * from './errors.ts';
export * from './token-claims.ts';
export * from './topic-filter.ts';
export * from './validate.ts';
