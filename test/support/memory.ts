/**
 * Memory of the test process while a piece of work runs, for "memory stays flat" tests.
 *
 * - `rssGrowthMb`: peak RSS minus RSS at the start (sampled every 20 ms). Loose: once V8 holds
 *   pages, RSS stays flat while the heap refills them.
 * - `liveHeapGrowthMb`: peak of the heap that is still reachable after a full collection, minus
 *   the same at the start, sampled every `liveEveryMs`. This is what the code under test holds at
 *   once, independent of when V8 chooses to collect. Needs Node's `--expose-gc` (npm test sets it);
 *   undefined without it.
 */
export interface MemoryGrowth {
  readonly rssBaselineMb: number;
  readonly rssGrowthMb: number;
  readonly liveHeapGrowthMb: number | undefined;
}

const MB = 2 ** 20;

export async function measureMemory<T>(work: () => Promise<T>, liveEveryMs = 500): Promise<{ result: T; memory: MemoryGrowth }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBaseline = process.memoryUsage().rss;
  const heapBaseline = process.memoryUsage().heapUsed;
  let rssPeak = rssBaseline;
  let livePeak = heapBaseline;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
  const liveTimer = gc
    ? setInterval(() => {
        gc();
        livePeak = Math.max(livePeak, process.memoryUsage().heapUsed);
      }, liveEveryMs)
    : undefined;
  try {
    const result = await work();
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    return {
      result,
      memory: {
        rssBaselineMb: rssBaseline / MB,
        rssGrowthMb: (rssPeak - rssBaseline) / MB,
        liveHeapGrowthMb: gc ? (livePeak - heapBaseline) / MB : undefined,
      },
    };
  } finally {
    clearInterval(rssTimer);
    if (liveTimer) clearInterval(liveTimer);
  }
}

/** One line for the test log. */
export function describeMemory(m: MemoryGrowth): string {
  const live = m.liveHeapGrowthMb === undefined ? 'live heap not measured (run Node with --expose-gc)' : `live heap peak growth ${m.liveHeapGrowthMb.toFixed(1)} MB`;
  return `RSS baseline ${m.rssBaselineMb.toFixed(0)} MB, RSS peak growth ${m.rssGrowthMb.toFixed(1)} MB, ${live}`;
}
