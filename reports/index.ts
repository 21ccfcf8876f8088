export { type CliIo, registerReportCommands } from './cli.ts';
export * from './compare.ts';
export { deliverySection, deliveryTableText } from './delivery-section.ts';
export * from './format.ts';
export * from './histogram-curves.ts';
export * from './load-results.ts';
export * from './overhead-verdict.ts';
export * from './report-error.ts';
export * from './report-html.ts';
