import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { loadIdFor } from '../../lambdas/core/ids';
import { runLoad } from '../../lambdas/load/load';
import type { LocalRuntime } from '../../local/runtime';
import { ledgerEntries, ordersFile, ordersState, query, range, startRuntime, uploadAndSettle } from './support';

/**
 * The synthesized SyncStateMachine on the embedded emulators and warehouse, driven by S3 events.
 * Every assertion reads back from the warehouse, DynamoDB or S3.
 */
describe('sync pipeline on the local runtime', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startRuntime();
    await uploadAndSettle(runtime, [
      { key: 'orders/base/a.parquet', body: ordersFile(range(1, 1000), 0, 'new') },
      { key: 'orders/base/b.parquet', body: ordersFile(range(1001, 1000), 0, 'new') },
    ]);
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('loads uploaded files once, proven by the warehouse, the ledger and the run record', async () => {
    expect(await ordersState(runtime)).toEqual({ rows: 2000, keys: 2000 });
    const [entry] = await ledgerEntries(runtime, 'orders/base/a.parquet');
    // One COPY with a manifest: the transaction has no per-file count; the load view answers after commit.
    expect(entry).toMatchObject({ status: 'loaded', rows: null });
    const passed = runtime.executions().filter((e) => e.run?.status === 'PASSED');
    expect(passed.length).toBeGreaterThanOrEqual(1);
    const [audit] = await query(
      runtime,
      'SELECT SUM(lines_scanned) AS n FROM sys_load_detail WHERE query_id IN (SELECT l.copy_query_id FROM public.syncproof_loads l ' +
        "JOIN public.syncproof_load_files f ON f.load_id = l.load_id WHERE f.object_key LIKE 'orders/base/%')",
    );
    expect(Number(audit?.n)).toBe(2000);
  });

  it("records an uploaded file from its own event (an event run), with the event's sequencer", async () => {
    const entries = [...(await ledgerEntries(runtime, 'orders/base/a.parquet')), ...(await ledgerEntries(runtime, 'orders/base/b.parquet'))];
    // Only an event run knows a sequencer; a reconcile run (a listing) records none.
    expect(entries.map((e) => e.sequencer)).toEqual([expect.stringMatching(/^[0-9A-Fa-f]+$/), expect.stringMatching(/^[0-9A-Fa-f]+$/)]);
  });

  it('adds no rows and leaves the ledger unchanged when an already loaded object is announced again', async () => {
    const before = await ledgerEntries(runtime, 'orders/base/a.parquet');
    const executions = runtime.executions().length;
    await uploadAndSettle(runtime, [{ key: 'orders/base/a.parquet', body: ordersFile(range(1, 1000), 0, 'new') }]);
    expect(await ordersState(runtime)).toEqual({ rows: 2000, keys: 2000 });
    expect(await ledgerEntries(runtime, 'orders/base/a.parquet')).toEqual(before);
    // The re-announced object is already in the ledger: any run it starts finds no work.
    const later = runtime.executions().slice(executions);
    expect(later.map((e) => e.run?.status ?? e.status)).toEqual(later.map(() => 'NO_WORK'));
  });

  it('loads an overwritten object again under upsert, as a new ledger entry', async () => {
    await uploadAndSettle(runtime, [{ key: 'orders/base/b.parquet', body: ordersFile(range(1001, 1000), 1, 'updated') }]);
    expect(await ordersState(runtime)).toEqual({ rows: 2000, keys: 2000 });
    const [r] = await query(runtime, "SELECT COUNT(*) AS n FROM public.orders WHERE status = 'updated'");
    expect(Number(r?.n)).toBe(1000);
    const entries = await ledgerEntries(runtime, 'orders/base/b.parquet');
    expect(entries.map((e) => e.status).sort()).toEqual(['loaded', 'loaded']);
    expect(new Set(entries.map((e) => e.etag)).size).toBe(2);
  });

  it('quarantines a truncated file naming the key, loads the rest of the batch, and passes with warnings', async () => {
    const good = ordersFile(range(5001, 100), 0, 'new');
    const truncated = ordersFile(range(6001, 100), 0, 'new').slice(0, 300);
    await uploadAndSettle(runtime, [
      { key: 'orders/mixed/good.parquet', body: good },
      { key: 'orders/mixed/truncated.parquet', body: truncated },
    ]);
    const [bad] = await ledgerEntries(runtime, 'orders/mixed/truncated.parquet');
    expect(bad?.status).toBe('quarantined');
    expect(bad?.reason).toContain('orders/mixed/truncated.parquet');
    expect((await ledgerEntries(runtime, 'orders/mixed/good.parquet'))[0]?.status).toBe('loaded');
    const [inRange] = await query(runtime, 'SELECT COUNT(*) AS n FROM public.orders WHERE order_id BETWEEN 5001 AND 6100');
    expect(Number(inRange?.n)).toBe(100);
    const run = runtime.executions().find((e) => e.run?.status === 'PASSED_WITH_WARNINGS');
    expect(run?.status).toBe('SUCCEEDED');
  });

  it('quarantines a file whose columns are in another order than the target, naming the column, and loads the rest of the batch', async () => {
    const ids = range(7001, 50);
    // Redshift's Parquet COPY maps by position: this file would load status into customer_id.
    const reordered = encodeParquet([
      { name: 'order_id', type: 'INT64', data: ids.map(BigInt) },
      { name: 'status', type: 'STRING', data: ids.map(() => 'x') },
      { name: 'customer_id', type: 'INT64', data: ids.map(() => 1n) },
      { name: 'amount', type: 'DECIMAL', precision: 12, scale: 2, data: ids.map(() => '1.00') },
      { name: 'updated_at', type: 'TIMESTAMP', data: ids.map(() => new Date(0)) },
    ]);
    await uploadAndSettle(runtime, [
      { key: 'orders/schema/reordered.parquet', body: reordered },
      { key: 'orders/schema/right.parquet', body: ordersFile(range(8001, 50), 0, 'new') },
    ]);
    const [entry] = await ledgerEntries(runtime, 'orders/schema/reordered.parquet');
    expect(entry?.status).toBe('quarantined');
    expect(entry?.reason).toContain("column 2 is 'status' but the target's column 2 is 'customer_id'");
    const [r] = await query(runtime, 'SELECT COUNT(*) AS n FROM public.orders WHERE order_id BETWEEN 7001 AND 7050');
    expect(Number(r?.n)).toBe(0);
    const [ok] = await query(runtime, 'SELECT COUNT(*) AS n FROM public.orders WHERE order_id BETWEEN 8001 AND 8050');
    expect(Number(ok?.n)).toBe(50);
  });

  it('ignores an object outside every dataset prefix', async () => {
    const executions = runtime.executions().length;
    const before = await ordersState(runtime);
    await uploadAndSettle(runtime, [{ key: 'misc/orders.parquet', body: ordersFile(range(9001, 10), 0, 'new') }]);
    expect(runtime.executions().length).toBe(executions);
    expect(await ordersState(runtime)).toEqual(before);
    const ledger: string[] = [];
    for await (const e of runtime.deps.ledger.listDataset('orders')) ledger.push(e.key);
    expect(ledger).not.toContain('misc/orders.parquet');
  });

  it('fails an execution with malformed input, saying which field is wrong', async () => {
    const result = await runtime.startExecution({ datset: 'orders' });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toMatch(/dataset/);
    expect(result.run).toMatchObject({ status: 'FAILED' });
    expect(result.run?.error).toMatch(/dataset/);
  });

  it('fails an execution naming an unknown dataset', async () => {
    const result = await runtime.startExecution({ dataset: 'invoices' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'ConfigurationError' });
    expect(result.cause).toContain("unknown dataset 'invoices'");
  });

  it('treats a retry of an already committed batch as a no-op, because the audit table says it is loaded', async () => {
    const loads: string[] = [];
    for await (const o of runtime.deps.objects.list('_syncproof/loads/orders/')) loads.push(o.key);
    const first = (await runtime.deps.objects.getJson(loads[0]!)) as { runId: string; loadId: string };
    const batches: string[] = [];
    for await (const o of runtime.deps.objects.list(`_syncproof/batches/orders/${first.runId}/`)) batches.push(`s3://${runtime.bucket}/${o.key}`);
    const batchUri = batches.find((u) => loadIdFor(first.runId, u) === first.loadId);
    expect(batchUri).toBeDefined();
    const before = await ordersState(runtime);
    const [auditBefore] = await query(runtime, 'SELECT COUNT(*) AS n FROM public.syncproof_loads');

    const again = await runLoad({ runId: first.runId, dataset: 'orders', batchUri: batchUri!, files: 1, hasMore: false }, runtime.deps);

    expect(again.loadId).toBe(first.loadId);
    expect(await ordersState(runtime)).toEqual(before);
    const [auditAfter] = await query(runtime, 'SELECT COUNT(*) AS n FROM public.syncproof_loads');
    expect(Number(auditAfter?.n)).toBe(Number(auditBefore?.n));
  });

  // Last: the drifted file stays failed (retryable), so every later run of the dataset fails on it too.
  it('fails the run on schema drift naming the column, and quarantines nothing', async () => {
    const ids = range(9501, 50);
    const drifted = encodeParquet([
      { name: 'order_id', type: 'INT64', data: ids.map(BigInt) },
      { name: 'surprise', type: 'STRING', data: ids.map(() => 'x') },
    ]);
    const executions = runtime.executions().length;
    await uploadAndSettle(runtime, [{ key: 'orders/schema/drifted.parquet', body: drifted }]);
    const [entry] = await ledgerEntries(runtime, 'orders/schema/drifted.parquet');
    expect(entry?.status).toBe('failed');
    expect(entry?.reason).toContain("'surprise'");
    const failed = runtime.executions().slice(executions).find((e) => e.status === 'FAILED');
    expect(failed?.cause).toContain("column 'surprise' (BYTE_ARRAY/STRING) not in target table public.orders");
    const [r] = await query(runtime, 'SELECT COUNT(*) AS n FROM public.orders WHERE order_id BETWEEN 9501 AND 9550');
    expect(Number(r?.n)).toBe(0);
  });
});

describe('a deployment whose COPY role the warehouse may not assume', () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startRuntime({ copyRoleArn: 'arn:aws:iam::000000000000:role/not-the-copy-role' });
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it('fails the run naming the role, quarantines no file, and leaves every file retryable', async () => {
    await uploadAndSettle(runtime, [
      { key: 'orders/role/a.parquet', body: ordersFile(range(1, 10), 0, 'new') },
      { key: 'orders/role/b.parquet', body: ordersFile(range(11, 10), 0, 'new') },
    ]);
    const failed = runtime.executions().filter((e) => e.status === 'FAILED');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]?.cause).toContain('arn:aws:iam::000000000000:role/not-the-copy-role');
    for (const key of ['orders/role/a.parquet', 'orders/role/b.parquet']) {
      const [entry] = await ledgerEntries(runtime, key);
      expect(entry?.status).toBe('failed');
    }
    expect(await query(runtime, "SELECT COUNT(*) AS n FROM public.orders")).toEqual([{ n: 0 }]);
  });
});
