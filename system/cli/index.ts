export { createProgram, main } from './main.ts';
export { serveUntilSignal } from './serve-until-signal.ts';
