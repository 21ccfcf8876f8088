/** A V8 sampling heap profile as the inspector returns it (HeapProfiler.stopSampling). */
export interface AllocationProfile {
  head: AllocationNode;
}

interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Estimated bytes allocated by this function itself, its callees left out. */
  selfSize: number;
  children: AllocationNode[];
}

/** A profile's bytes: all of them, by layer, and by allocating function (`name url:line`). */
export interface LayerBytes {
  total: number;
  layers: Record<string, number>;
  functions: Record<string, number>;
}

/**
 * The layers a message crosses, in the order they are tried against an allocating function's
 * script. Everything aedes brings in to parse, route and write MQTT counts as aedes.
 */
const LAYERS: readonly [name: string, test: RegExp][] = [
  [
    'aedes (MQTT parse, routing, write)',
    /node_modules\/(aedes|aedes-packet|aedes-persistence|mqtt-packet|qlobber|mqemitter|bl|fastparallel|fastfall|fastseries|reusify|retimer|debug)\//,
  ],
  ['ws (the peer link framing)', /node_modules\/ws\//],
  ["mqfed's own code", /\/system\//],
  [
    'Node streams, sockets, buffers',
    /^node:(internal\/streams|internal\/stream_base|net|stream|buffer|internal\/buffer|events)/,
  ],
  ['Node, other (timers, task queues)', /^node:/],
];

/**
 * Sums a profile by layer and by function. [design] Bytes are charged to the function that
 * allocated them, not to its callers: a Buffer made by Node for aedes counts as Node's, which
 * is where it can be avoided.
 */
export function allocationByLayer(profile: AllocationProfile): LayerBytes {
  const result: LayerBytes = { total: 0, layers: {}, functions: {} };
  const visit = (node: AllocationNode) => {
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const layer =
        LAYERS.find(([, test]) => test.test(url))?.[0] ?? 'other (V8 internals, unknown)';
      const name = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
      result.total += node.selfSize;
      result.layers[layer] = (result.layers[layer] ?? 0) + node.selfSize;
      result.functions[name] = (result.functions[name] ?? 0) + node.selfSize;
    }
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  return result;
}

/** A script's URL from its package or project folder on, so no machine path is printed. */
function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const project = url.search(/\/(system|harness|bench)\//);
  return project >= 0 ? url.slice(project + 1) : url;
}
