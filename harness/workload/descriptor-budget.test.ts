import { describe, expect, it } from 'vitest';
import { checkDescriptorBudget, DESCRIPTOR_RESERVE, openFileLimit } from './descriptor-budget.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             96363                96363                processes
Max open files            20000                50000                files
`;

describe('the descriptor budget of the harness process', () => {
  it('reads the soft open-file limit, and none where it is unlimited or unreadable', () => {
    expect(openFileLimit(() => LIMITS)).toBe(20_000);
    expect(
      openFileLimit(
        () => 'Max open files            unlimited            unlimited            files',
      ),
    ).toBeUndefined();
    expect(
      openFileLimit(() => {
        throw new Error('no /proc here');
      }),
    ).toBeUndefined();
  });

  it('refuses a crowd that needs more sockets than the process may open, before it connects', () => {
    expect(() => checkDescriptorBudget(20_000, 1, 20_000)).toThrow(
      expect.objectContaining({ code: 'TOO_MANY_CLIENTS' }),
    );
    // In-process each client's broker end is here too.
    expect(() => checkDescriptorBudget(10_000, 2, 20_000)).toThrow(/20,512 open files/);
    expect(() => checkDescriptorBudget(20_000 - DESCRIPTOR_RESERVE, 1, 20_000)).not.toThrow();
    expect(() => checkDescriptorBudget(5_000, 2, 20_000)).not.toThrow();
  });
});
