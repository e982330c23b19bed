/**
 * Scheduled late-row reconciliation (issue #15 item 5, `reconcileWindow`): a real MariaDB source,
 * the local runtime and the synthesized VerifyStateMachine, started with the input its schedule
 * rule in the template passes. A row committed behind the watermark outside `lag` is found in the
 * recent window, repaired by a child SyncStateMachine execution (mode repair, through the
 * exactly-once load path, under the dataset's run lock), and the window checked again: the
 * verification PASSES and its reports say what was found and repaired. Read back: the warehouse,
 * the watermark (DynamoDB), the reports (S3), the run records.
 */
import { parseConfig } from '../../lambdas/core/config';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { contentTierReportKey, type ContentTierReport } from '../../lambdas/verify/content';
import { LocalRuntime } from '../../local/runtime';
import { startTestSource, type TestSourceDb } from '../support/source-db';

jest.setTimeout(300_000);

const T0 = '2024-03-01 10:00:00';
const ts = (seconds: number) => formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n);

describe('reconcileWindow: the scheduled verification repairs late rows behind the watermark (mysql source)', () => {
  let db: TestSourceDb;
  let runtime: LocalRuntime;
  const dataset = 'late';

  beforeAll(async () => {
    db = await startTestSource('mysql');
    await db.exec(`CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL, updated_at DATETIME(6) NOT NULL)`);
    // Rows two hours apart at the start: the oldest lie outside a one-hour reconcile window.
    await db.exec(`INSERT INTO orders VALUES ${Array.from({ length: 30 }, (_, i) => `(${i + 1}, 'c${i + 1}', ${i + 1}.25, '${ts(i < 10 ? i : 7200 + i)}')`).join(', ')}`);
    const config = parseConfig({
      datasets: [{ name: dataset, target: { schema: 'public', table: 'late_orders' }, source: { engine: 'mysql', url: db.url, table: `${db.schema}.orders`, cursorColumn: 'updated_at', lag: '5s' }, reconcileWindow: '1h', content: { fetchRows: 8, factor: 4 } }],
    });
    // One execution at a time: the verification gives its slot up while its repair run (a child) runs.
    runtime = await LocalRuntime.start({ config, s3Events: false, maxConcurrentExecutions: 1 });
    const sync = await runtime.startExecution({ dataset }, 'late-sync-1');
    expect([sync.status, sync.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.stop();
  });

  const warehouse = async (sql: string) => (await runtime.warehouse()).query(sql);
  const report = async (runId: string) => (await runtime.deps.objects.getJson(contentTierReportKey(dataset, runId))) as ContentTierReport;

  it('finds a row inserted behind the watermark outside lag, repairs it in a child sync run, checks again: PASSED, the row once in the warehouse, the watermark unchanged', async () => {
    const watermark = await runtime.watermarks().get(dataset);
    await db.exec(`INSERT INTO orders VALUES (1000, 'late', 7.50, '${ts(7205)}')`);

    const v = await runtime.startScheduledVerification(dataset, { name: 'late-verify-1' });
    expect([v.status, v.run?.status, v.error, v.cause]).toEqual(['SUCCEEDED', 'PASSED', undefined, undefined]);

    // The check before the repair: the recent window only, the late row named.
    const before = await report('late-verify-1');
    expect(before.reconcile).toEqual({ window: '1h', since: formatMicros(timeMicros(watermark!.position!.cursor) - 3_600_000_000n) });
    expect(before.status).toBe('FAILED');
    expect(before.keys.missing).toEqual([['1000']]);
    expect(before.comparison?.compared.rowsA).toBe(21);
    // The check after: what was found and repaired, and the verdict about the state after.
    const after = await report('late-verify-1-repaired');
    expect(after.status).toBe('PASSED');
    expect(after.repaired).toMatchObject({ status: 'SUCCEEDED', runStatus: 'PASSED', reportUri: `s3://${runtime.bucket}/${contentTierReportKey(dataset, 'late-verify-1')}` });
    expect(after.summary).toMatch(/repaired by late-verify-1-repair/);
    // The verification's run record says it too.
    expect((v.run?.stages?.finish as { contentSummary?: string } | undefined)?.contentSummary).toMatch(/late content: PASSED; reconciliation: .*repaired by late-verify-1-repair \(SUCCEEDED, PASSED\)/);

    // The child repair run: its own run record, mode repair, one row loaded.
    const child = await runtime.deps.runs.get('late-verify-1-repair');
    expect(child?.status).toBe('PASSED');
    expect(child?.stages?.extract).toMatchObject({ mode: 'repair', rows: 1, files: 1 });

    expect(await warehouse(`SELECT id::text AS id, customer FROM public.late_orders WHERE id = 1000`)).toEqual([{ id: '1000', customer: 'late' }]);
    expect(await warehouse(`SELECT count(*)::int AS n FROM public.late_orders`)).toEqual([{ n: 31 }]);
    const now = await runtime.watermarks().get(dataset);
    expect([now?.version, now?.position]).toEqual([watermark?.version, watermark?.position]);

    // The next tick finds nothing: no repair run.
    const again = await runtime.startScheduledVerification(dataset, { name: 'late-verify-2' });
    expect([again.status, again.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
    expect((again.run?.stages?.finish as { contentSummary?: string } | undefined)?.contentSummary).not.toMatch(/reconciliation/);
    expect(await runtime.deps.runs.get('late-verify-2-repair')).toBeFalsy();
  });
});
