/** SIGKILL of the real CLI at every step boundary of a fleet apply (see crash-points.ts). */
import { describe, expect, it } from 'vitest';
import { enumerate } from './crash-points.js';

describe('crash points: SIGKILL', () => {
  it('the CLI killed at each step boundary leaves every host bootable, old-or-new, the lease expiring, and the next apply converges', async () => {
    expect(await enumerate('kill')).toBeGreaterThan(8);
  }, 900_000);
});
