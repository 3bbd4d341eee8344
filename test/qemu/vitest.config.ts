import { defineConfig } from 'vitest/config';

/**
 * The QEMU end-to-end tier (`npm run test:qemu`): slow (minutes per phase under TCG), needs root
 * for the image build, so it is kept out of `npm test` (the main config excludes test/qemu/**).
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/qemu/**/*.test.ts'],
    // Phases set their own timeouts; these are the ceilings for anything that does not.
    testTimeout: 30 * 60_000,
    hookTimeout: 60 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    // One guest, one flow: a retry would run against a half-changed guest.
    retry: 0,
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
  },
});
