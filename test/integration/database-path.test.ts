/**
 * The database path end to end on real engines: a MariaDB and a PostgreSQL server started by the
 * test, the local runtime (S3 and DynamoDB emulators, the embedded warehouse behind the local
 * Redshift Data API), the synthesized state machine. Every assertion reads back the warehouse, the
 * watermark in DynamoDB, or the extraction document in S3.
 *
 * One runtime and one source database per engine; each scenario has its own table and dataset.
 */
import * as extractHandler from '../../lambdas/extract/handler';
import * as verifyHandler from '../../lambdas/verify/handler';
import { parseConfig, type SyncproofConfig } from '../../lambdas/core/config';
import { extractionDocumentKey, extractionDocumentSchema } from '../../lambdas/core/extraction';
import { formatMicros, timeMicros } from '../../lambdas/core/keyset';
import { schemaDocumentKey, schemaDocumentSchema } from '../../lambdas/core/source-schema';
import { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import type { LocalHandler } from '../../local/lambda-sandbox';
import { startTestSource, type Engine, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

const T0 = '2024-03-01 10:00:00';
/** `T0 + seconds`, as SQL text both engines read. */
function ts(seconds: number): string {
  return formatMicros(timeMicros(T0) + BigInt(seconds) * 1_000_000n);
}

interface Scenario {
  readonly table: string;
  readonly source?: Record<string, unknown>;
}

/** Each scenario's table (= dataset name). */
const SCENARIOS: Record<string, Scenario> = {
  orders: { table: 'orders' },
  ties: { table: 'ties', source: { limit: 3 } },
  composite: { table: 'composite', source: { limit: 2 } },
  capped: { table: 'capped', source: { limit: 3, maxChunks: 2 } },
  budget: { table: 'budget', source: { limit: 2 } },
  verifyfail: { table: 'verifyfail' },
  racing: { table: 'racing', source: { limit: 5 } },
  late: { table: 'late', source: { lag: '3s' } },
  behind: { table: 'behind' },
  dropped: { table: 'dropped' },
  names: { table: 'names', source: { cursorColumn: 'Updated At' } },
};

function ordersDdl(engine: Engine, table: string): string {
  const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
  return `CREATE TABLE ${table} (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, amount DECIMAL(12,2), updated_at ${time} NOT NULL); CREATE INDEX ${table}_cursor ON ${table} (updated_at, id)`;
}

function insertOrders(table: string, rows: readonly (readonly [number, string, string | null, string])[]): string {
  return `INSERT INTO ${table} (id, customer, amount, updated_at) VALUES ${rows.map(([id, c, a, t]) => `(${id}, '${c}', ${a ?? 'NULL'}, '${t}')`).join(', ')}`;
}

/** `id|…` lines in numeric id order. */
function byId(lines: string[]): string[] {
  return lines.sort((a, b) => Number(a.split('|')[0]) - Number(b.split('|')[0]));
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/**
 * Scenario groups: each group gets its own runtime (and source database). They were split when a
 * stack's configuration travelled in a 4 KB Lambda environment variable; it now ships in each
 * stage's bundle with no such limit, and the groups stay as they are (smaller runtimes, clearer
 * failures).
 */
const GROUPS: Record<string, readonly string[]> = {
  windows: ['orders', 'ties', 'composite', 'capped', 'budget', 'names'],
  safety: ['verifyfail', 'racing', 'late', 'behind', 'dropped'],
};

describe.each<[Engine, string]>([
  ['mysql', 'windows'],
  ['mysql', 'safety'],
  ['postgres', 'windows'],
  ['postgres', 'safety'],
])('the database path on %s (%s)', (engine, group) => {
  const inGroup = (name: string) => GROUPS[group]!.includes(name);
  const test = (name: string, dataset: string, fn: () => Promise<void>) => (inGroup(dataset) ? it(name, fn) : it.skip(name, fn));
  let db: TestSourceDb;
  let runtime: LocalRuntime;
  const extractCalls = new Map<string, number>();
  const failVerify = new Set<string>();

  const datasetOf = (event: unknown): string => String((event as { input?: { dataset?: unknown }; dataset?: unknown }).input?.dataset ?? (event as { dataset?: unknown }).dataset);

  beforeAll(async () => {
    db = await startTestSource(engine);
    for (const [name, s] of Object.entries(SCENARIOS)) {
      if (name === 'names' || !inGroup(name)) continue;
      if (name === 'composite') {
        const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
        await db.exec(`CREATE TABLE composite (tenant INT NOT NULL, id BIGINT NOT NULL, note VARCHAR(20), updated_at ${time} NOT NULL, PRIMARY KEY (tenant, id))`);
        continue;
      }
      await db.exec(ordersDdl(engine, s.table));
    }
    const q = engine === 'mysql' ? '`' : '"';
    const time = engine === 'mysql' ? 'DATETIME(6)' : 'TIMESTAMP(6)';
    if (inGroup('names')) await db.exec(`CREATE TABLE names (id BIGINT NOT NULL PRIMARY KEY, ${q}190_time${q} INT, ${q}User${q} VARCHAR(10), ${q}select${q} VARCHAR(10), ${q}Updated At${q} ${time} NOT NULL)`);

    const config: SyncproofConfig = parseConfig({
      datasets: Object.entries(SCENARIOS).filter(([name]) => inGroup(name)).map(([name, s]) => ({
        name,
        target: { schema: 'public', table: `${engine}_${name}` },
        source: { engine, url: db.url, table: `${db.schema}.${s.table}`, cursorColumn: 'updated_at', ...s.source },
      })),
    });
    const extract: LocalHandler = async (event, context) => {
      const name = datasetOf(event);
      extractCalls.set(name, (extractCalls.get(name) ?? 0) + 1);
      // An invocation of the `budget` dataset has one second left: it writes one chunk, then continues.
      const ctx = name === 'budget' ? Object.assign(Object.create(context as object) as object, { getRemainingTimeInMillis: () => 1000 }) : context;
      return (extractHandler.handler as LocalHandler)(event, ctx);
    };
    const verify: LocalHandler = async (event, context) => {
      if (failVerify.has(datasetOf(event))) throw Object.assign(new Error('injected: the warehouse disagrees'), { name: 'VerificationFailedError' });
      return (verifyHandler.handler as LocalHandler)(event, context);
    };
    runtime = await LocalRuntime.start({ config, s3Events: false, stageHandlers: { extract, verify } });
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.stop();
  });

  let runNo = 0;
  async function sync(dataset: string, extra: Record<string, unknown> = {}): Promise<ExecutionSummary> {
    const e = await runtime.startExecution({ dataset, ...extra }, `${engine}-${dataset}-${++runNo}`);
    if (process.env.DEBUG_DB_PATH) process.stderr.write(`${e.name}: ${e.status} ${e.run?.status} ${e.error ?? ''} ${e.cause ?? ''}\n`);
    return e;
  }

  async function warehouseRows(dataset: string): Promise<string[]> {
    const rows = await (await runtime.warehouse()).query(
      `SELECT CAST(id AS VARCHAR(40)) AS id, customer, CAST(amount AS VARCHAR(40)) AS amount, CAST(updated_at AS VARCHAR(40)) AS updated_at FROM public.${engine}_${dataset} ORDER BY id`,
    );
    return byId(rows.map((r) => `${String(r.id)}|${String(r.customer)}|${r.amount === null ? 'null' : String(r.amount)}|${formatMicros(timeMicros(String(r.updated_at)))}`));
  }

  async function sourceRows(table: string): Promise<string[]> {
    const rows = await db.rows(`SELECT id, customer, amount, updated_at FROM ${table}`);
    return byId(rows.map((r) => `${String(r.id)}|${String(r.customer)}|${r.amount === null ? 'null' : String(r.amount)}|${formatMicros(timeMicros(String(r.updated_at)))}`));
  }

  async function extraction(execution: ExecutionSummary, dataset: string) {
    return extractionDocumentSchema.parse(await runtime.deps.objects.getJson(extractionDocumentKey(dataset, execution.name)));
  }

  test('extracts, loads and verifies a table, then only the rows changed and inserted since the watermark', 'orders', async () => {
    await db.exec(insertOrders('orders', range(1, 50).map((i) => [i, `c${i}`, `${i}.25`, ts(i)] as const)));
    const first = await sync('orders');
    expect(first).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    expect(await warehouseRows('orders')).toEqual(await sourceRows('orders'));
    expect((await extraction(first, 'orders')).rows).toBe(50);

    await db.exec(`UPDATE orders SET customer = 'changed', updated_at = '${ts(100)}' WHERE id IN (3, 17, 42)`);
    await db.exec(insertOrders('orders', [[51, 'new', null, ts(101)], [52, 'new', '-0.05', ts(101)]]));
    const second = await sync('orders');
    expect(second).toMatchObject({ status: 'SUCCEEDED', run: { status: 'PASSED' } });
    expect((await extraction(second, 'orders')).rows).toBe(5);
    expect(await warehouseRows('orders')).toEqual(await sourceRows('orders'));
    const wm = await runtime.watermarks().get('orders');
    expect(wm).toMatchObject({ version: 2, position: { key: ['52'] }, lastRun: { runId: second.name, extraction: { rows: 5, files: 1 }, loadedRows: 5 } });
    expect(formatMicros(timeMicros(wm!.position!.cursor))).toBe(ts(101));
  });

  test('never loses or doubles rows that share a cursor value across chunk boundaries', 'ties', async () => {
    await db.exec(insertOrders('ties', range(1, 8).map((i) => [i, `c${i}`, '1.00', ts(5)] as const)));
    const run = await sync('ties');
    expect(run.run?.status).toBe('PASSED');
    expect((await extraction(run, 'ties')).files.map((f) => f.rows)).toEqual([3, 3, 2]);
    expect(await warehouseRows('ties')).toEqual(await sourceRows('ties'));
    // Rows added later at the same cursor value with higher keys are picked up by the next run.
    await db.exec(insertOrders('ties', [[9, 'c9', '1.00', ts(5)], [10, 'c10', '1.00', ts(5)]]));
    const again = await sync('ties');
    expect((await extraction(again, 'ties')).rows).toBe(2);
    expect(await warehouseRows('ties')).toEqual(await sourceRows('ties'));
  });

  test('reads composite keys across chunk boundaries with >= on the first key column', 'composite', async () => {
    await db.exec(
      `INSERT INTO composite (tenant, id, note, updated_at) VALUES (1, 1, 'a', '${ts(1)}'), (1, 2, 'b', '${ts(1)}'), (2, 1, 'c', '${ts(1)}'), (2, 2, 'd', '${ts(1)}'), (1, 3, 'e', '${ts(1)}')`,
    );
    const run = await sync('composite');
    expect(run.run?.status).toBe('PASSED');
    const rows = await (await runtime.warehouse()).query(`SELECT tenant, id, note FROM public.${engine}_composite ORDER BY tenant, id`);
    expect(rows.map((r) => `${String(r.tenant)}/${String(r.id)}/${String(r.note)}`)).toEqual(['1/1/a', '1/2/b', '1/3/e', '2/1/c', '2/2/d']);
    expect((await extraction(run, 'composite')).files.map((f) => f.last.key)).toEqual([['1', '2'], ['2', '1'], ['2', '2']]);
  });

  test('moves exactly limit × maxChunks rows per run and says more are left', 'capped', async () => {
    await db.exec(insertOrders('capped', range(1, 10).map((i) => [i, `c${i}`, '2.00', ts(i)] as const)));
    const first = await sync('capped');
    const doc = await extraction(first, 'capped');
    expect(doc).toMatchObject({ rows: 6, hasMore: true });
    expect(doc.files.map((f) => f.rows)).toEqual([3, 3]);
    expect((await runtime.watermarks().get('capped'))?.position?.key).toEqual(['6']);
    expect((await warehouseRows('capped')).length).toBe(6);
    const second = await sync('capped');
    expect(await extraction(second, 'capped')).toMatchObject({ rows: 4, hasMore: false });
    expect(await warehouseRows('capped')).toEqual(await sourceRows('capped'));
    // An execution's own limit and maxChunks override the dataset's.
    await db.exec(insertOrders('capped', range(11, 5).map((i) => [i, `c${i}`, '2.00', ts(i)] as const)));
    expect(await extraction(await sync('capped', { limit: 1, maxChunks: 2 }), 'capped')).toMatchObject({ rows: 2, hasMore: true });
  });

  test('continues across Lambda invocations when the budget runs low, with the same end bound', 'budget', async () => {
    await db.exec(insertOrders('budget', range(1, 5).map((i) => [i, `c${i}`, '3.00', ts(i)] as const)));
    const before = extractCalls.get('budget') ?? 0;
    const run = await sync('budget');
    expect(run.run?.status).toBe('PASSED');
    // One chunk per invocation: 2 + 2 + 1 rows (a short chunk ends the run).
    expect((extractCalls.get('budget') ?? 0) - before).toBe(3);
    expect((await extraction(run, 'budget')).files.map((f) => f.rows)).toEqual([2, 2, 1]);
    expect(await warehouseRows('budget')).toEqual(await sourceRows('budget'));
  });

  test('does not move the watermark when verification fails', 'verifyfail', async () => {
    await db.exec(insertOrders('verifyfail', range(1, 4).map((i) => [i, `c${i}`, '1.00', ts(i)] as const)));
    expect((await sync('verifyfail')).run?.status).toBe('PASSED');
    const before = await runtime.watermarks().get('verifyfail');
    await db.exec(insertOrders('verifyfail', [[5, 'c5', '1.00', ts(50)]]));
    failVerify.add('verifyfail');
    try {
      const failed = await sync('verifyfail');
      expect(failed).toMatchObject({ status: 'FAILED', error: 'VerificationFailedError' });
    } finally {
      failVerify.delete('verifyfail');
    }
    expect(await runtime.watermarks().get('verifyfail')).toEqual(before);
    // The next run extracts the same row again, and only then moves on.
    const next = await sync('verifyfail');
    expect((await extraction(next, 'verifyfail')).rows).toBe(1);
    expect((await runtime.watermarks().get('verifyfail'))?.position?.key).toEqual(['5']);
  });

  test('never moves the watermark backwards under two concurrent runs', 'racing', async () => {
    await db.exec(insertOrders('racing', range(1, 12).map((i) => [i, `c${i}`, '1.00', ts(i)] as const)));
    const [a, b] = await Promise.all([sync('racing'), sync('racing')]);
    expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const wm = await runtime.watermarks().get('racing');
    expect(wm?.position?.key).toEqual(['12']);
    expect(await warehouseRows('racing')).toEqual(await sourceRows('racing'));
    // A later run that finds nothing new leaves the position where it is.
    await sync('racing');
    expect((await runtime.watermarks().get('racing'))?.position?.key).toEqual(['12']);
  });

  test('picks up a row committed late inside lag on the next run', 'late', async () => {
    const now = engine === 'mysql' ? 'UTC_TIMESTAMP(6)' : "(now() AT TIME ZONE 'UTC')";
    await db.exec(`INSERT INTO late (id, customer, amount, updated_at) VALUES (1, 'old', '1.00', '${ts(0)}')`);
    // Stamped "now": inside the 3 s lag, so this run leaves it for the next one.
    await db.exec(`INSERT INTO late (id, customer, amount, updated_at) SELECT 2, 'fresh', 1.00, ${now}`);
    const first = await sync('late');
    expect((await extraction(first, 'late')).rows).toBe(1);
    await new Promise((r) => setTimeout(r, 3500));
    const second = await sync('late');
    expect((await extraction(second, 'late')).rows).toBe(1);
    expect(await warehouseRows('late')).toEqual(await sourceRows('late'));
  });

  test('reports rows inserted behind the watermark, outside lag, as a failed run', 'behind', async () => {
    await db.exec(insertOrders('behind', range(1, 3).map((i) => [i, `c${i}`, '1.00', ts(100 + i)] as const)));
    expect((await sync('behind')).run?.status).toBe('PASSED');
    await db.exec(insertOrders('behind', [[4, 'late', '1.00', ts(50)], [5, 'new', '1.00', ts(200)]]));
    const run = await sync('behind');
    expect(run).toMatchObject({ status: 'FAILED', error: 'VerificationFailedError' });
    expect(run.cause).toContain("at least 1 source rows with updated_at <");
    // The run's own row is loaded and the watermark moved past it; the late row is named, not lost silently.
    expect((await runtime.watermarks().get('behind'))?.position?.key).toEqual(['5']);
    expect((await warehouseRows('behind')).map((r) => r.split('|')[0])).toEqual(['1', '2', '3', '5']);
  });

  test('fails clearly when the table was dropped between runs, keeping what was loaded', 'dropped', async () => {
    await db.exec(insertOrders('dropped', [[1, 'a', '1.00', ts(1)]]));
    expect((await sync('dropped')).run?.status).toBe('PASSED');
    await db.exec('DROP TABLE dropped');
    const run = await sync('dropped');
    expect(run).toMatchObject({ status: 'FAILED', error: 'SourceTableMissingError' });
    expect(run.cause).toContain(`source table ${db.schema}.dropped of dataset 'dropped' does not exist (it did on earlier runs: was it dropped or renamed?)`);
    expect(await warehouseRows('dropped')).toEqual(['1|a|1.00|' + ts(1)]);
  });

  test('keeps sanitized column names stable across runs and schema changes', 'names', async () => {
    const q = engine === 'mysql' ? '`' : '"';
    await db.exec(`INSERT INTO names (id, ${q}190_time${q}, ${q}User${q}, ${q}select${q}, ${q}Updated At${q}) VALUES (1, 190, 'u', 's', '${ts(1)}')`);
    expect((await sync('names')).run?.status).toBe('PASSED');
    const first = schemaDocumentSchema.parse(await runtime.deps.objects.getJson(schemaDocumentKey('names')));
    expect(first.columns.map((c) => `${c.source}→${c.name}`)).toEqual(['id→id', '190_time→col_190_time', 'User→col_user', 'select→col_select', 'Updated At→updated_at']);
    await db.exec(`ALTER TABLE names ADD COLUMN ${q}190-time${q} VARCHAR(10)`);
    await db.exec(`INSERT INTO names (id, ${q}190_time${q}, ${q}User${q}, ${q}select${q}, ${q}Updated At${q}, ${q}190-time${q}) VALUES (2, 191, 'U2', 's2', '${ts(2)}', 'lower')`);
    expect((await sync('names')).run?.status).toBe('PASSED');
    const second = schemaDocumentSchema.parse(await runtime.deps.objects.getJson(schemaDocumentKey('names')));
    expect(second.columns.map((c) => `${c.source}→${c.name}`)).toEqual([...first.columns.map((c) => `${c.source}→${c.name}`), '190-time→col_190_time_2']);
    const rows = await (await runtime.warehouse()).query(`SELECT id, col_190_time, col_user, col_select, col_190_time_2 FROM public.${engine}_names ORDER BY id`);
    expect(rows.map((r) => [String(r.id), String(r.col_190_time), String(r.col_user), String(r.col_select), String(r.col_190_time_2)])).toEqual([
      ['1', '190', 'u', 's', 'null'],
      ['2', '191', 'U2', 's2', 'lower'],
    ]);
  });
});
