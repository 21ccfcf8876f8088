import { describe, expect, it } from 'vitest';
import { extendContext } from './extend-context.ts';

describe('extendContext', () => {
  it('reads the shared context through, holds only its own fields, and sees the context as it is', () => {
    const base = { selfId: 'a', limit: 1, deliver: () => 'base' };
    const part = extendContext(base, { limit: 2, peerId: 'p' });
    expect([part.selfId, part.limit, part.peerId, part.deliver()]).toEqual(['a', 2, 'p', 'base']);
    expect(Object.keys(part).sort()).toEqual(['limit', 'peerId']);
    expect(base.limit).toBe(1);
    base.selfId = 'b';
    expect(part.selfId).toBe('b');
  });
});
