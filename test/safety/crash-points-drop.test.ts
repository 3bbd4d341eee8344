/** Every SSH connection dropped at every step boundary of a fleet apply (see crash-points.ts). */
import { describe, expect, it } from 'vitest';
import { enumerate } from './crash-points.js';

describe('crash points: dropped SSH connections', () => {
  it('all connections cut at each step boundary: every host bootable, old-or-new, the lease released, and the next apply converges', async () => {
    expect(await enumerate('drop')).toBeGreaterThan(8);
  }, 900_000);
});
