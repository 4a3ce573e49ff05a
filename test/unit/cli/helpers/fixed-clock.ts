/**
 * Preloaded (`node --import`) into a CLI process that a test runs with `tsnet(args, { now })`:
 * `Date.now()` answers TSNET_TEST_NOW (ms since the epoch) for the whole run, so relative times
 * ("2 minutes ago") come out exact however long the machine takes to start the process.
 */
const now = Number(process.env.TSNET_TEST_NOW);
if (!Number.isFinite(now))
  throw new Error(`fixed-clock: TSNET_TEST_NOW must be ms since the epoch, not ${process.env.TSNET_TEST_NOW}`);
Date.now = () => now;
