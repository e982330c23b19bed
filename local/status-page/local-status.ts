/** The status of a running local runtime, for the status page `syncproof local` serves. */
import { parseS3Uri } from '../../lambdas/core/s3-uri';
import type { StatusReport } from '../../lambdas/core/status';
import { collectStatus } from '../../cli/status-collect';
import type { LocalRuntime } from '../runtime';

/** What a status page reads from `runtime`: the same collectStatus as `syncproof status --data-dir`. */
export function localStatusSource(runtime: LocalRuntime): { status: () => Promise<StatusReport>; readReport: (uri: string) => Promise<unknown> } {
  const deps = runtime.deps;
  return {
    status: () =>
      collectStatus({
        config: deps.config,
        runs: deps.runs,
        ledger: deps.ledger,
        watermarks: runtime.watermarks(),
        clock: deps.clock,
        deadLetters: () => Promise.resolve(runtime.deadLetters().map((m) => ({ body: JSON.stringify(m.body) }))),
      }),
    readReport: async (uri: string) => {
      const { bucket, key } = parseS3Uri(uri);
      if (bucket !== runtime.bucket) return undefined;
      try {
        return await deps.objects.getJson(key);
      } catch {
        return undefined;
      }
    },
  };
}
