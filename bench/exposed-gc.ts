/**
 * The `gc` of a process started with `node --expose-gc`, for a bench that reads the heap after a
 * full collection. Without it the bench exits 2 and says how to run it (`npm run <script>`).
 */
export function exposedGc(script: string): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    process.stderr.write(`run with node --expose-gc for a heap figure (npm run ${script} does)\n`);
    process.exit(2);
  }
  return gc;
}
