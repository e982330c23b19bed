/**
 * Longest suites first, also on a clean clone. Jest orders by the durations of the last run on
 * this machine (its cache); without them (CI's clean clone) it falls back to file size, and
 * schedules any suite with a cached duration after every suite without one. Neither predicts the
 * slow suites here (divergence.test.ts is small and takes minutes): a long suite started last
 * leaves one worker running it alone at the end. So: the cached duration when there is one, else
 * the measured seconds in suite-seconds.json (from a full `npm test`; refresh it when suites
 * change much), else 30 s for a suite not listed yet. Failed suites still run first.
 */
const { relative } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const SECONDS = require('./suite-seconds.json');

const UNLISTED_MS = 30_000;

class LongestFirst extends Sequencer {
  sort(tests) {
    const expected = new Map();
    for (const test of tests) {
      const cached = this.time(test);
      const listed = SECONDS[relative(test.context.config.rootDir, test.path).split('\\').join('/')];
      expected.set(test, cached ?? (listed === undefined ? UNLISTED_MS : listed * 1000));
    }
    return [...tests].sort((a, b) => {
      const failedA = this.hasFailed(a);
      if (failedA !== this.hasFailed(b)) return failedA ? -1 : 1;
      return expected.get(b) - expected.get(a) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    });
  }
}

module.exports = LongestFirst;
