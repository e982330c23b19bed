import { parseConfig } from '../../lambdas/core/config';
import type { LedgerEntry, LedgerStore, RunRecord, RunStore } from '../../lambdas/core/ports';
import { judgeSchedule, runKindOf, schedulePeriodSeconds, summarizeRun } from '../../lambdas/core/status';
import type { WatermarkRecord, WatermarkStore } from '../../lambdas/core/watermark';
import { collectStatus, type StatusDeps } from '../../cli/status-collect';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const HOUR = 3_600_000;

const config = parseConfig({
  datasets: [
    { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['id'], lagWarn: '1h', lagFail: '6h' },
    { name: 'users', source: { engine: 'postgres', url: 'pglite:/tmp/x', table: 'public.users', cursorColumn: 'updated_at' }, target: { schema: 'public', table: 'users' } },
  ],
});

function at(msBeforeNow: number): string {
  return new Date(NOW.getTime() - msBeforeNow).toISOString();
}

function run(runId: string, dataset: string, startedBefore: number, status: RunRecord['status'], stages: Record<string, unknown>, extra: Partial<RunRecord> = {}): RunRecord {
  return { runId, dataset, status, startedAt: at(startedBefore), updatedAt: at(startedBefore - 60_000), stages, ...extra };
}

function entry(key: string, status: LedgerEntry['status'], lastModifiedBefore: number, reason?: string): LedgerEntry {
  return { dataset: 'orders', key, etag: `e-${key}`, size: 1, lastModified: at(lastModifiedBefore), status, fence: 1, updatedAt: at(0), ...(reason ? { reason } : {}) };
}

function deps(runs: RunRecord[], entries: LedgerEntry[], watermarks: WatermarkRecord[] = [], dead: string[] = []): StatusDeps {
  const runStore = {
    async *listByDataset(dataset: string) {
      yield* runs.filter((r) => r.dataset === dataset).sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
    },
  } as unknown as RunStore;
  const ledger = {
    async *listDataset(dataset: string) {
      yield* entries.filter((e) => e.dataset === dataset);
    },
  } as unknown as LedgerStore;
  const wm = { get: async (d: string) => watermarks.find((w) => w.dataset === d) } as unknown as WatermarkStore;
  return { config, runs: runStore, ledger, watermarks: wm, deadLetters: async () => dead.map((body) => ({ body })), clock: { now: () => NOW } };
}

const eventRun = { inventory: { mode: 'sync', scope: 'batch' }, load_1: { rows: 5, filesLoaded: 2 } };
const verifyRun = { inventory: { mode: 'verify' }, checksum: {}, finish: { status: 'PASSED', checksum: 's3://b/c', counts: 's3://b/n' } };

describe('status model', () => {
  it('tells sync, verification and several-datasets runs apart and sums a run\'s loads', () => {
    expect(runKindOf(run('a', 'orders', 0, 'PASSED', eventRun))).toBe('sync');
    expect(runKindOf(run('b', 'orders', 0, 'PASSED', verifyRun))).toBe('verification');
    expect(runKindOf(run('c', 'orders,users', 0, 'RUNNING', { datasets: {} }))).toBe('datasets');
    const s = summarizeRun(run('a', 'orders', 120_000, 'PASSED', eventRun));
    expect(s).toMatchObject({ kind: 'sync', mode: 'event', rows: 5, files: 2, durationSeconds: 60, cost: null });
    expect(summarizeRun(run('b', 'orders', 0, 'PASSED', verifyRun))).toMatchObject({ kind: 'verification', tier: 'counts' });
  });

  it('reads the period of rate and cron schedules, and judges one late only when runs older than its window exist', () => {
    expect(schedulePeriodSeconds('rate(6 hours)')).toBe(21_600);
    expect(schedulePeriodSeconds('cron(0 3 * * ? *)')).toBe(86_400);
    const spec = { name: 'verify' as const, expression: 'rate(1 hour)' };
    expect(judgeSchedule(spec, true, at(HOUR), at(HOUR), NOW).onTime).toBe(true);
    expect(judgeSchedule(spec, true, at(2 * HOUR), at(2 * HOUR), NOW).onTime).toBe(false);
    expect(judgeSchedule(spec, true, undefined, at(10 * 60_000), NOW).onTime).toBe('unknown');
    expect(judgeSchedule(spec, false, at(5 * HOUR), at(5 * HOUR), NOW).onTime).toBe('unknown');
  });

  it('is healthy when the newest loaded file is recent and every run passed on time', async () => {
    const report = await collectStatus(deps([run('s1', 'orders', 10 * 60_000, 'PASSED', { inventory: { mode: 'sync', scope: 'prefix' } }), run('v1', 'orders', 20 * 60_000, 'PASSED', verifyRun)], [entry('orders/a.csv', 'loaded', 30 * 60_000)]), { datasets: ['orders'] });
    expect(report.datasets[0]).toMatchObject({ health: 'healthy', reasons: [], ledger: { loaded: 1 }, lag: { seconds: 1800, level: 'ok' } });
    expect(report.exitCode).toBe(0);
  });

  it('warns at lagWarn and for a quarantined file, naming each reason', async () => {
    const report = await collectStatus(deps([], [entry('orders/a.csv', 'loaded', 2 * HOUR), entry('orders/b.csv', 'quarantined', 0, 'column count differs')]), { datasets: ['orders'] });
    const d = report.datasets[0];
    expect(d.health).toBe('warning');
    expect(d.reasons.join('\n')).toMatch(/lag 2h 0m is at or above lagWarn/);
    expect(d.quarantined).toEqual([expect.objectContaining({ key: 'orders/b.csv', reason: 'column count differs' })]);
    expect(report.exitCode).toBe(1);
  });

  it('fails at lagFail, for a failed last run, and for a dead-lettered event of the dataset', async () => {
    const dead = JSON.stringify({ 'detail-type': 'Object Created', detail: { bucket: { name: 'b' }, object: { key: 'orders/c.csv' } } });
    const report = await collectStatus(
      deps([run('s2', 'orders', 60_000, 'FAILED', eventRun, { error: 'LoadFailedError: boom\nstack' })], [entry('orders/a.csv', 'loaded', 7 * HOUR)], [], [dead]),
      { datasets: ['orders'] },
    );
    const d = report.datasets[0];
    expect(d.health).toBe('failing');
    expect(d.deadLetters).toBe(1);
    expect(d.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/lagFail/), expect.stringMatching(/last run s2 FAILED: LoadFailedError: boom\.$/), expect.stringMatching(/1 dead-lettered event of this dataset/)]));
    expect(report.exitCode).toBe(2);
  });

  it('lists at most runsPerDataset runs but reads on for the last verification, and judges a schedule late only past its window', async () => {
    const events = Array.from({ length: 30 }, (_, i) => run(`e${i}`, 'orders', (i + 1) * 60_000, 'PASSED', eventRun));
    const old = run('v0', 'orders', 40 * HOUR, 'PASSED', verifyRun);
    const report = await collectStatus(deps([...events, old], [entry('orders/a.csv', 'loaded', 0)]), { datasets: ['orders'], runsPerDataset: 5 });
    const d = report.datasets[0]!;
    expect(d.runs.map((r) => r.runId)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    expect(d.lastVerification?.runId).toBe('v0');
    expect(d.schedules.find((s) => s.name === 'verify')).toMatchObject({ onTime: false, lastRunAt: at(40 * HOUR) });
    expect(d.reasons).toEqual([
      expect.stringMatching(/^the verify schedule \(rate\(1 day\)\) did not run on time: its last run started /),
      'the reconcile schedule (rate(1 day)) did not run on time: no run of it was found.',
    ]);
    expect(report.exitCode).toBe(1);
  });

  it('takes a database dataset\'s lag from its watermark cursor', async () => {
    const wm: WatermarkRecord = {
      dataset: 'users', version: 2, strategy: 'keyset', position: { cursor: at(3 * HOUR), key: ['9'] }, updatedAt: at(0),
      lastRun: { runId: 's9', mode: 'incremental', startedAt: at(HOUR), endedAt: at(HOUR), status: 'PASSED', extraction: { rows: 1, files: 1, bytes: 1, nullCursorRows: 0, zeroDates: {}, hasMore: true, end: null }, loadedRows: 1 },
    };
    const d = (await collectStatus(deps([], [], [wm]), { datasets: ['users'] })).datasets[0];
    expect(d).toMatchObject({ kind: 'database', lag: { seconds: 3 * 3600, level: 'warn' }, watermark: { cursor: at(3 * HOUR), key: ['9'], runId: 's9' } });
  });
});
