/**
 * The commit's content check of each run's window (lambdas/core/content/window-check.ts), on a real
 * PostgreSQL and a real MariaDB source, the local runtime and the synthesized SyncStateMachine. Changes between the
 * load and the commit are made by a hook in front of the commit stage (the CLI cannot reach the
 * runtime's stage hooks, so the runtime runs in-process). Every assertion reads back the report on
 * S3, the watermark in DynamoDB, the run record or the warehouse.
 */
import * as commitHandler from '../../lambdas/commit/handler';
import type { ContentCompared as ContentSummary } from '../../lambdas/commit/content-check';
import { parseConfig } from '../../lambdas/core/config';
import { windowReportKey, type WindowReport } from '../../lambdas/core/content/window-check';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import type { LocalHandler } from '../../local/lambda-sandbox';
import { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

const T0 = '2024-03-01 10:00:00';
const ts = (seconds: number) => formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n);
const DATASETS = ['passes', 'tampered', 'updated', 'deleted', 'bulk'] as const;

describe.each<Engine>(['postgres', 'mysql'])('the content check of a run window (%s source)', (engine) => {
  let db: TestSourceDb;
  let runtime: LocalRuntime;
  /** Acts once, just before the commit stage of the dataset's next run. */
  const beforeCommit = new Map<string, () => Promise<void>>();
  let runNo = 0;

  beforeAll(async () => {
    db = await startTestSource(engine);
    for (const name of DATASETS) {
      await db.exec(`CREATE TABLE ${name} (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, amount DECIMAL(12,2), updated_at ${engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)'} NOT NULL)`);
    }
    const config = parseConfig({
      datasets: DATASETS.map((name) => ({
        name,
        target: { schema: 'public', table: `wc_${name}` },
        source: { engine, url: db.url, table: `${db.schema}.${name}`, cursorColumn: 'updated_at', ...(name === 'bulk' ? { limit: 5000 } : {}) },
      })),
    });
    const commit: LocalHandler = async (event, context) => {
      const dataset = String((event as { dataset?: unknown }).dataset);
      const act = beforeCommit.get(dataset);
      beforeCommit.delete(dataset);
      await act?.();
      return (commitHandler.handler as LocalHandler)(event, context);
    };
    runtime = await LocalRuntime.start({ config, s3Events: false, stageHandlers: { commit } });
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.stop();
  });

  const insert = (table: string, from: number, count: number, at: (i: number) => number) =>
    db.exec(`INSERT INTO ${table} (id, customer, amount, updated_at) VALUES ${Array.from({ length: count }, (_, j) => from + j).map((i) => `(${i}, 'c${i}', ${i}.25, '${ts(at(i))}')`).join(', ')}`);
  const sync = (dataset: string): Promise<ExecutionSummary> => runtime.startExecution({ dataset }, `wc-${engine}-${dataset}-${++runNo}`);
  const report = async (dataset: string, run: ExecutionSummary) => (await runtime.deps.objects.getJson(windowReportKey(dataset, run.name))) as WindowReport;
  const contentOf = (run: ExecutionSummary) => (run.run?.stages?.commit as { content?: ContentSummary } | undefined)?.content;
  const uriOf = (dataset: string, run: ExecutionSummary) => `s3://${runtime.deps.objects.bucket}/${windowReportKey(dataset, run.name)}`;

  it('passes an equal window and says what it compared: the run window only, every column', async () => {
    await insert('passes', 1, 20, (i) => i);
    const first = await sync('passes');
    expect(first).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    expect(contentOf(first)).toMatchObject({ status: 'PASSED', columns: 4, rowsSource: 20, rowsWarehouse: 20, missing: 0, extra: 0, changed: 0, deleted: 0, reportUri: uriOf('passes', first) });

    await insert('passes', 21, 3, (i) => i + 100);
    const second = await sync('passes');
    expect(second).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    // The window is (watermark, last]: 3 new rows (the row at the watermark's cursor shares the boundary).
    expect(contentOf(second)).toMatchObject({ status: 'PASSED', rowsSource: 4, rowsWarehouse: 4 });
    const r = await report('passes', second);
    expect(r).toMatchObject({ status: 'PASSED', compared: { columns: ['id', 'customer', 'amount', 'updated_at'], rowsA: 4, rowsB: 4 }, missing: { count: 0 }, changed: { count: 0 } });
    expect(r.window.filter).toEqual({ from: ts(20), to: ts(123) });
    expect(r.window.to?.key).toEqual(['23']);
  });

  it('fails a run whose warehouse value changed between load and commit: the watermark stays, the report names key and column', async () => {
    await insert('tampered', 1, 10, (i) => i);
    expect((await sync('tampered')).run?.status).toBe('PASSED');
    const before = await runtime.watermarks().get('tampered');
    await insert('tampered', 11, 5, (i) => i + 100);
    beforeCommit.set('tampered', async () => {
      await (await runtime.warehouse()).query("UPDATE public.wc_tampered SET customer = 'X-secret' WHERE id = 12");
    });
    const run = await sync('tampered');
    expect(run).toMatchObject({ status: 'FAILED', error: 'VerificationFailedError', run: { status: 'FAILED' } });
    expect(run.cause).toContain(uriOf('tampered', run));
    expect(run.cause).toContain('(12)');
    expect(run.cause).not.toContain('X-secret');
    expect(run.cause).not.toContain('c12');
    const after = await runtime.watermarks().get('tampered');
    expect(after).toEqual(before);
    const r = await report('tampered', run);
    expect(r.status).toBe('FAILED');
    expect(r.changed).toEqual({ count: 1, rows: [{ key: ['12'], columns: [{ column: 'customer', source: 'c12', warehouse: 'X-secret' }] }] });
  });

  it('does not report a row updated at the source after the extraction (its cursor moved past the window), and the next run brings it', async () => {
    await insert('updated', 1, 10, (i) => i);
    beforeCommit.set('updated', () => db.exec(`UPDATE updated SET customer = 'later', updated_at = '${ts(500)}' WHERE id = 3`));
    const run = await sync('updated');
    expect(run).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    const r = await report('updated', run);
    expect(r).toMatchObject({ status: 'PASSED', extra: { count: 0 }, notDivergences: { count: 1, keys: [{ key: ['3'], reason: 'written-after-extraction' }] } });
    expect((await runtime.watermarks().get('updated'))?.position?.key).toEqual(['10']);
    expect((await sync('updated')).run?.status).toBe('PASSED');
    const [row] = await (await runtime.warehouse()).query('SELECT customer FROM public.wc_updated WHERE id = 3');
    expect(row?.customer).toBe('later');
  });

  it('reports a row deleted at the source between extraction and commit, FAILED, and the watermark stays', async () => {
    await insert('deleted', 1, 10, (i) => i);
    beforeCommit.set('deleted', () => db.exec('DELETE FROM deleted WHERE id = 4'));
    const run = await sync('deleted');
    expect(run).toMatchObject({ status: 'FAILED', error: 'VerificationFailedError', run: { status: 'FAILED' } });
    expect(run.cause).toContain('1 deleted at the source');
    expect(run.cause).toContain(uriOf('deleted', run));
    expect(await runtime.watermarks().get('deleted')).toBeUndefined();
    const r = await report('deleted', run);
    expect(r).toMatchObject({ status: 'FAILED', deleted: { count: 1, keys: [['4']], policy: 'report' }, extra: { count: 0 } });
  });

  it('measures what the check adds to a run of 10,000 rows', async () => {
    await insert('bulk', 1, 10_000, (i) => i);
    const started = Date.now();
    const run = await sync('bulk');
    const total = Date.now() - started;
    const content = contentOf(run);
    expect(content).toMatchObject({ status: 'PASSED', rowsSource: 10_000, rowsWarehouse: 10_000 });
    process.stderr.write(`window check of 10,000 rows (${engine}): ${content!.ms} ms of a ${total} ms run, ${content!.segmentQueries} segment queries\n`);
  });
});
