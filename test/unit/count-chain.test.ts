import { judgeDatabaseChain, judgeFileChain, hopLine, type DatabaseCounts, type FileCounts } from '../../lambdas/core/count-chain';
import { runRecord } from '../../lambdas/record/record';
import type { RunRecord, RunStore } from '../../lambdas/core/ports';
import type { StageDeps } from '../../lambdas/core/stage-deps';

const synced: DatabaseCounts = {
  loadMode: 'upsert',
  sourceWindowRows: 1000,
  sourceTotalRows: 1000,
  manifestRows: 1000,
  manifestFiles: 2,
  auditRows: 1000,
  auditFiles: 2,
  manifestAuditMismatches: [],
  targetRows: 1000,
  targetDistinctKeys: 1000,
  targetWindowRows: 1000,
};

const failed = (c: DatabaseCounts) => judgeDatabaseChain(c).hops.filter((h) => h.status === 'FAILED').map((h) => h.name);

describe('judgeDatabaseChain', () => {
  it('passes a dataset whose every hop agrees', () => {
    expect(failed(synced)).toEqual([]);
  });

  it.each<[string, Partial<DatabaseCounts>, string[]]>([
    ['rows removed from the target', { targetRows: 997, targetDistinctKeys: 997, targetWindowRows: 997 }, ['audit → target']],
    ['a duplicate key in the target', { targetRows: 1001, targetDistinctKeys: 1000 }, ['audit → target']],
    ['rows deleted at the source', { sourceWindowRows: 990, sourceTotalRows: 990 }, ['source → target']],
    ['a manifest missing', { manifestRows: 900, manifestFiles: 1, manifestAuditMismatches: [{ key: 'b.parquet', expected: null, actual: 100 }] }, ['source → manifests', 'manifests → audit']],
    ['a manifest that disagrees with the audit', { manifestRows: 1001, manifestAuditMismatches: [{ key: 'a.parquet', expected: 501, actual: 500 }] }, ['manifests → audit']],
  ])('names the hop of %s', (_what, change, hops) => {
    expect(failed({ ...synced, ...change })).toEqual(hops);
  });

  it('passes an upsert whose rows were updated since: manifests and audit hold more versions than the target keys, the source fewer rows behind the watermark', () => {
    expect(failed({ ...synced, sourceWindowRows: 990, manifestRows: 1010, auditRows: 1010 })).toEqual([]);
  });

  it('says the numbers of a failed hop on its line', () => {
    const hop = judgeDatabaseChain({ ...synced, loadMode: 'append', targetRows: 997, targetDistinctKeys: 997 }).hops.find((h) => h.name === 'audit → target')!;
    expect(hopLine(hop)).toBe('FAILED audit → target: 1,000 audited, 997 in the target');
  });
});

describe('judgeFileChain', () => {
  const files: FileCounts = {
    loadMode: 'append',
    manifestRows: 10,
    manifestFiles: 2,
    manifestLedgerMismatches: [],
    ledgerRows: 10,
    ledgerFiles: 2,
    ledgerAuditMismatches: [],
    auditRows: 10,
    auditFiles: 2,
    targetRows: 10,
    targetDistinctKeys: 10,
  };

  it('passes manifests → ledger → audit → target when each hop agrees', () => {
    expect(judgeFileChain(files).hops.map((h) => [h.name, h.status])).toEqual([
      ['manifests → ledger', 'PASSED'],
      ['ledger → audit', 'PASSED'],
      ['audit → target', 'PASSED'],
    ]);
  });

  it('leaves the manifests hop out when the dataset has no manifests', () => {
    expect(judgeFileChain({ ...files, manifestRows: undefined }).hops.map((h) => h.name)).toEqual(['ledger → audit', 'audit → target']);
  });

  it('fails ledger → audit for a loaded entry no committed load audited (I3)', () => {
    const hops = judgeFileChain({ ...files, ledgerAuditMismatches: [{ key: 'b.parquet', etag: 'e', expected: 4, actual: null }], auditRows: 6 }).hops;
    expect(hops.filter((h) => h.status === 'FAILED').map((h) => h.name)).toEqual(['ledger → audit', 'audit → target']);
    expect(hops[1]!.problems[0]).toBe("ledger → audit: 1 files differ, first 'b.parquet': 4 in the ledger, none audited");
  });
});

describe('Record folds the count chain into a scheduled verification', () => {
  function deps(): { deps: StageDeps; updates: Partial<RunRecord>[] } {
    const updates: Partial<RunRecord>[] = [];
    const runs: RunStore = { get: async () => undefined, start: async () => true, update: async (_id: string, u: Partial<RunRecord>) => void updates.push(u) } as unknown as RunStore;
    return { deps: { config: { datasets: [] } as unknown as StageDeps['config'], runs, clock: { now: () => new Date('2024-01-01T00:00:00Z') }, log: { info: () => undefined, warn: () => undefined } } as unknown as StageDeps, updates };
  }
  const passed = { status: 'PASSED' as const };

  it('fails the verification when the count chain FAILED, naming its failed hops in the cause', async () => {
    const { deps: d, updates } = deps();
    const out = await runRecord(
      { outcome: 'verified', runId: 'v-1', dataset: 'orders', inventory: passed, checksum: passed, counts: { status: 'FAILED', reportUri: 's3://b/r.json', hops: ['PASSED source → manifests: 3 → 3', 'FAILED audit → target: 3 audited, 2 in the target'] } },
      d,
    );
    expect(out).toMatchObject({ status: 'FAILED', error: 'VerificationFailedError' });
    expect((out as { cause: string }).cause).toBe(
      'orders: FAILED — inventory PASSED (no summary), checksum sample PASSED (no report), count chain FAILED (s3://b/r.json): FAILED audit → target: 3 audited, 2 in the target',
    );
    expect(updates[0]).toMatchObject({ status: 'FAILED', output: { status: 'FAILED', counts: 's3://b/r.json' } });
  });

  it('passes when every tier passed', async () => {
    const { deps: d } = deps();
    const out = await runRecord({ outcome: 'verified', runId: 'v-2', dataset: 'orders', inventory: passed, checksum: passed, counts: { status: 'PASSED', reportUri: 's3://b/r.json' } }, d);
    expect(out).toMatchObject({ status: 'PASSED' });
  });
});
