import { parseConfig } from '../../lambdas/core/config';
import { columnMismatch, maxFilesPerTransaction, planLoad } from '../../lambdas/core/load-plan';
import { parseCopyFromS3Parquet } from '../../lambdas/core/sql';

const base = {
  name: 'orders',
  prefix: 'orders/',
  target: { schema: 'sales', table: 'orders' },
  keyColumns: ['order_id'],
};

function plan(loadMode: 'upsert' | 'append') {
  const [dataset] = parseConfig({ datasets: [{ ...base, loadMode, keyColumns: loadMode === 'upsert' ? ['order_id'] : [] }] }).datasets;
  return planLoad({
    dataset: dataset!,
    runId: 'run-1',
    loadId: 'ld_abc',
    bucket: 'data',
    iamRole: 'arn:aws:iam::1:role/copy',
    files: [
      { key: 'orders/a.parquet', etag: 'e1', columns: ['order_id', 'amount'], fileRows: 10 },
      { key: "orders/it's b.parquet", etag: 'e2', columns: ['amount', 'order_id'], fileRows: 20 },
    ],
  });
}

describe('planLoad', () => {
  it('copies each file into staging, audits its row count, replaces by key, and writes one audit row last', () => {
    const { statements } = plan('upsert');
    expect(statements).toEqual([
      'CREATE TEMP TABLE "syncproof_stage_ld_abc" (LIKE "sales"."orders")',
      `COPY "syncproof_stage_ld_abc" ("order_id", "amount") FROM 's3://data/orders/a.parquet' IAM_ROLE 'arn:aws:iam::1:role/copy' FORMAT AS PARQUET`,
      `INSERT INTO "public"."syncproof_load_files" (load_id, dataset, object_key, etag, "rows", file_rows) SELECT 'ld_abc', 'orders', 'orders/a.parquet', 'e1', COUNT(*), 10 FROM "syncproof_stage_ld_abc"`,
      'DELETE FROM "sales"."orders" USING "syncproof_stage_ld_abc" WHERE "sales"."orders"."order_id" = "syncproof_stage_ld_abc"."order_id"',
      'INSERT INTO "sales"."orders" ("order_id", "amount") SELECT "order_id", "amount" FROM "syncproof_stage_ld_abc"',
      'DELETE FROM "syncproof_stage_ld_abc"',
      `COPY "syncproof_stage_ld_abc" ("amount", "order_id") FROM 's3://data/orders/it''s b.parquet' IAM_ROLE 'arn:aws:iam::1:role/copy' FORMAT AS PARQUET`,
      `INSERT INTO "public"."syncproof_load_files" (load_id, dataset, object_key, etag, "rows", file_rows) SELECT 'ld_abc', 'orders', 'orders/it''s b.parquet', 'e2', COUNT(*), 20 FROM "syncproof_stage_ld_abc"`,
      'DELETE FROM "sales"."orders" USING "syncproof_stage_ld_abc" WHERE "sales"."orders"."order_id" = "syncproof_stage_ld_abc"."order_id"',
      'INSERT INTO "sales"."orders" ("amount", "order_id") SELECT "amount", "order_id" FROM "syncproof_stage_ld_abc"',
      'DELETE FROM "syncproof_stage_ld_abc"',
      `INSERT INTO "public"."syncproof_loads" (load_id, dataset, run_id, files, "rows", loaded_at) SELECT 'ld_abc', 'orders', 'run-1', COUNT(*), COALESCE(SUM("rows"), 0), GETDATE() FROM "public"."syncproof_load_files" WHERE load_id = 'ld_abc'`,
      'DROP TABLE "syncproof_stage_ld_abc"',
    ]);
  });

  it('does not delete by key in append mode', () => {
    expect(plan('append').statements.some((s) => s.startsWith('DELETE FROM "sales"'))).toBe(false);
  });

  it('maps each COPY statement index to its file, so a failure quarantines the right file', () => {
    const { statements, copyStatementFile } = plan('upsert');
    expect([...copyStatementFile.entries()].map(([i, f]) => [statements[i]?.slice(0, 4), f.etag])).toEqual([
      ['COPY', 'e1'],
      ['COPY', 'e2'],
    ]);
  });

  it('builds COPY statements the Postgres-family adapters can parse back', () => {
    const { statements } = plan('upsert');
    expect(parseCopyFromS3Parquet(statements[6]!)).toEqual({
      table: '"syncproof_stage_ld_abc"',
      columns: ['amount', 'order_id'],
      bucket: 'data',
      key: "orders/it's b.parquet",
      iamRole: '',
    });
  });
});

describe('maxFilesPerTransaction', () => {
  const dataset = (loadMode: 'upsert' | 'append') =>
    parseConfig({ datasets: [{ ...base, loadMode, keyColumns: loadMode === 'upsert' ? ['order_id'] : [] }] }).datasets[0]!;

  it('fits a batch into the Redshift Data API limit of 40 statements per transaction', () => {
    for (const mode of ['upsert', 'append'] as const) {
      const n = maxFilesPerTransaction(dataset(mode), 40);
      const files = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, etag: 'e', columns: ['order_id', 'amount'], fileRows: 1 }));
      const make = (count: number) =>
        planLoad({ dataset: dataset(mode), runId: 'r', loadId: 'ld', bucket: 'b', iamRole: 'role', files: [...files, ...files].slice(0, count) });
      expect(make(n).statements.length).toBeLessThanOrEqual(40);
      expect(make(n + 1).statements.length).toBeGreaterThan(40);
    }
  });

  it('sets no cap when the warehouse has no statement limit', () => {
    expect(maxFilesPerTransaction(dataset('upsert'), undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('columnMismatch', () => {
  it('accepts the same columns in another order', () => {
    expect(columnMismatch(['b', 'a'], ['a', 'b'], 'public.t')).toBeUndefined();
  });

  it('names a column the target lacks and one the file lacks', () => {
    expect(columnMismatch(['a', 'surprise'], ['a', 'b'], 'public.t')).toBe(
      "column 'surprise' not in target table public.t; target column 'b' missing from the file; " +
        'rewrite the file with the target\'s columns or change the table, then upload it again',
    );
  });
});
