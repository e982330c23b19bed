import { parseConfig } from '../../lambdas/core/config';
import type { MetricName } from '../../lambdas/core/metric-names';
import type { RunRecord } from '../../lambdas/core/ports';
import type { SyncproofEvent } from '../../lambdas/core/run-events';
import type { StageDeps } from '../../lambdas/core/stage-deps';
import { announceRun, announceVerification, loadTotals, runModeOf } from '../../lambdas/record/run-end';

const config = parseConfig({ datasets: [{ name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, columns: [{ name: 'id', type: 'BIGINT' }], loadMode: 'append' }] });
const NOW = new Date('2026-03-01T12:00:00Z');
const RUN: RunRecord = {
  runId: 'r1',
  dataset: 'orders',
  status: 'PASSED',
  startedAt: '2026-03-01T11:00:00Z',
  updatedAt: '2026-03-01T11:05:00Z',
  reportUri: 's3://b/_syncproof/reports/r1.json',
  stages: { load_a: { rows: 10, filesLoaded: 2, filesQuarantined: 1, bytes: 300 }, load_b: { rows: 5, filesLoaded: 1, filesQuarantined: 0, bytes: 100 }, verify: { rows: 99 } },
};

/** Deps whose ledger holds one loaded object (LastModified an hour ago) and whose sink `put` does what it is given. */
function fakeDeps(put: (e: SyncproofEvent) => Promise<void>, ledgerFails = false) {
  const metrics: [MetricName, number][] = [];
  const warnings: string[] = [];
  const deps = {
    config,
    clock: { now: () => NOW },
    runs: { get: () => Promise.resolve(RUN) },
    ledger: {
      listDataset: async function* () {
        if (ledgerFails) throw new Error('throttled');
        yield { status: 'loaded', lastModified: '2026-03-01T11:00:00Z' };
      },
    },
    metrics: { add: (name: MetricName, value: number) => metrics.push([name, value]) },
    events: { put },
    log: { info: () => undefined, warn: (m: string) => warnings.push(m) },
  } as unknown as StageDeps;
  return { deps, metrics, warnings };
}

describe('the end of a run, announced', () => {
  it("puts syncproof.run with the run's load totals and mode; a file dataset's run reads no ledger for a lag (null, no metric)", async () => {
    const put = jest.fn(() => Promise.resolve());
    const { deps, metrics } = fakeDeps(put);

    await announceRun(deps, { runId: 'r1', dataset: 'orders', status: 'PASSED', input: { dataset: 'orders', mode: 'reconcile' } }, NOW);

    expect(put).toHaveBeenCalledWith({
      detailType: 'syncproof.run',
      detail: { id: 'syncproof.run/r1', runId: 'r1', dataset: 'orders', mode: 'reconcile', status: 'PASSED', rows: 15, files: 3, bytes: 400, quarantined: 1, lagSeconds: null, reportUri: RUN.reportUri, endedAt: NOW.toISOString() },
    });
    expect(metrics).toEqual([]);
  });

  it("puts syncproof.verification with the file dataset's lag from its ledger, and reports the lag metric", async () => {
    const put = jest.fn(() => Promise.resolve());
    const { deps, metrics } = fakeDeps(put);

    await announceVerification(deps, { runId: 'v1', dataset: 'orders', status: 'PASSED', tiers: { inventory: 'PASSED', checksum: 'PASSED', counts: 'PASSED', content: 'SKIPPED' } }, NOW);

    expect(put).toHaveBeenCalledWith(expect.objectContaining({ detailType: 'syncproof.verification', detail: expect.objectContaining({ lagSeconds: 3600 }) }));
    expect(metrics).toEqual([['Verifications', 1], ['LagSeconds', 3600]]);
  });

  it('does not throw when the event cannot be put: it logs and counts EventsFailed', async () => {
    const { deps, metrics, warnings } = fakeDeps(() => Promise.reject(new Error('AccessDeniedException')));

    await expect(announceRun(deps, { runId: 'r1', dataset: 'orders', status: 'FAILED', error: 'X: y' }, NOW)).resolves.toBeUndefined();

    expect(metrics).toEqual(expect.arrayContaining([['RunsFailed', 1], ['EventsFailed', 1]]));
    expect(warnings).toEqual([expect.stringContaining('could not put')]);
  });

  it('says lagSeconds null when the lag cannot be read, and still puts the event', async () => {
    const put = jest.fn(() => Promise.resolve());
    const { deps } = fakeDeps(put, true);

    await announceVerification(deps, { runId: 'v1', dataset: 'orders', status: 'PASSED', tiers: { inventory: 'PASSED', checksum: 'PASSED', counts: 'PASSED', content: 'SKIPPED' } }, NOW);

    expect(put).toHaveBeenCalledWith(expect.objectContaining({ detailType: 'syncproof.verification', detail: expect.objectContaining({ tier: 'counts', lagSeconds: null, id: 'syncproof.verification/v1' }) }));
  });
});

describe('the lag of a run end', () => {
  it("gives up reading the ledger when the invocation's time is nearly spent (lagSeconds null)", async () => {
    const put = jest.fn(() => Promise.resolve());
    const { deps } = fakeDeps(put);

    await announceVerification({ ...deps, remainingTimeMs: () => 20_000 }, { runId: 'v1', dataset: 'orders', status: 'PASSED', tiers: { inventory: 'PASSED', checksum: 'PASSED' } }, NOW);

    expect(put).toHaveBeenCalledWith(expect.objectContaining({ detail: expect.objectContaining({ lagSeconds: null }) }));
  });
});

describe('runModeOf and loadTotals', () => {
  it.each([
    [{ dataset: 'd', mode: 'full' }, true, 'full'],
    [{ dataset: 'd', trigger: { source: 's3', objects: 1 } }, false, 'event'],
    [{ dataset: 'd' }, true, 'incremental'],
    [{ dataset: 'd' }, false, 'reconcile'],
  ])('%j (source: %s) → %s', (input, hasSource, mode) => {
    expect(runModeOf(input, hasSource)).toBe(mode);
  });

  it('adds up only the load stages', () => {
    expect(loadTotals(RUN)).toEqual({ rows: 15, files: 3, bytes: 400, quarantined: 1 });
  });
});
