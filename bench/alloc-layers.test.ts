import { describe, expect, it } from 'vitest';
import { type AllocationProfile, allocationByLayer } from './alloc-layers.ts';

const node = (
  functionName: string,
  url: string,
  selfSize: number,
  children: AllocationProfile['head'][] = [],
): AllocationProfile['head'] => ({
  callFrame: { functionName, url, lineNumber: 9 },
  selfSize,
  children,
});

describe('allocation by layer', () => {
  it('charges each function its own bytes, under the layer of its script', () => {
    const profile: AllocationProfile = {
      head: node('(root)', '', 0, [
        node('onStreamRead', 'node:internal/stream_base_commons', 100, [
          node('parse', 'file:///srv/app/node_modules/mqtt-packet/parser.js', 40, [
            node('decodePublish', 'file:///srv/app/system/protocol/peer-codec.ts', 24),
          ]),
          node('frame', 'file:///srv/app/node_modules/ws/lib/sender.js', 16),
        ]),
        node('listOnTimeout', 'node:internal/timers', 8),
        node('', '', 4),
      ]),
    };
    const bytes = allocationByLayer(profile);
    expect(bytes.total).toBe(192);
    expect(bytes.layers).toEqual({
      'Node streams, sockets, buffers': 100,
      'aedes (MQTT parse, routing, write)': 40,
      "mqfed's own code": 24,
      'ws (the peer link framing)': 16,
      'Node, other (timers, task queues)': 8,
      'other (V8 internals, unknown)': 4,
    });
    // named from the package or the project folder on: no machine path in a report
    expect(bytes.functions['decodePublish system/protocol/peer-codec.ts:10']).toBe(24);
    expect(bytes.functions['parse mqtt-packet/parser.js:10']).toBe(40);
    expect(bytes.functions['(anonymous) :10']).toBe(4);
  });

  it('adds up a function that shows at several places in the call tree', () => {
    const write = () => node('write', 'file:///srv/app/node_modules/aedes/lib/write.js', 10);
    const profile: AllocationProfile = {
      head: node('(root)', '', 0, [node('a', 'node:net', 0, [write()]), write()]),
    };
    expect(allocationByLayer(profile).functions['write aedes/lib/write.js:10']).toBe(20);
  });
});
