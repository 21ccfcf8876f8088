export * from './errors.ts';
export * from './peer-codec.ts';
export * from './peer-frames.ts';
export * from './revocation-frames.ts';
export * from './token-claims.ts';
export * from './topic-filter.ts';
export * from './validate.ts';
