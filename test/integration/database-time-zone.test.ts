/**
 * A source whose naive cursor (`timestamp without time zone`) holds New York wall-clock time, on a
 * real PostgreSQL server, through the local runtime: `lag` is measured in the source's `timeZone`.
 * Rows are stamped from the server's own clock, read in America/New_York, so nothing waits for time
 * to pass: a row stamped 9 minutes ago there is inside a 10-minute lag and outside a 5-minute one.
 */
import { parseConfig, type SyncproofConfig } from '../../lambdas/core/config';
import { extractionDocumentKey, extractionDocumentSchema } from '../../lambdas/core/extraction';
import { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import { startTestSource, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

const ZONE = 'America/New_York';

describe('lag of a naive cursor in the source time zone (PostgreSQL, America/New_York)', () => {
  let db: TestSourceDb;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    db = await startTestSource('postgres');
    await db.exec('CREATE TABLE stamped (id BIGINT NOT NULL PRIMARY KEY, note VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL)');
    // Wall-clock stamps in New York, from the server's clock: 20, 9 and 2 minutes old there.
    const ny = (minutes: number) => `(now() AT TIME ZONE '${ZONE}') - interval '${minutes} minutes'`;
    await db.exec(`INSERT INTO stamped VALUES (1, 'old', ${ny(20)}), (2, 'nine', ${ny(9)}), (3, 'fresh', ${ny(2)})`);
    const source = { engine: 'postgres', url: db.url, table: `${db.schema}.stamped`, cursorColumn: 'updated_at', timeZone: ZONE };
    const config: SyncproofConfig = parseConfig({
      datasets: [
        { name: 'ten', target: { schema: 'public', table: 'tz_ten' }, source: { ...source, lag: '10m' } },
        { name: 'five', target: { schema: 'public', table: 'tz_five' }, source: { ...source, lag: '5m' } },
      ],
    });
    runtime = await LocalRuntime.start({ config, s3Events: false });
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.stop();
  });

  async function sync(dataset: string): Promise<ExecutionSummary> {
    return runtime.startExecution({ dataset }, `tz-${dataset}`);
  }

  async function loadedIds(table: string): Promise<number[]> {
    const rows = await (await runtime.warehouse()).query(`SELECT id FROM public.${table} ORDER BY id`);
    return rows.map((r) => Number(r.id));
  }

  async function extractedRows(execution: ExecutionSummary, dataset: string): Promise<number> {
    return extractionDocumentSchema.parse(await runtime.deps.objects.getJson(extractionDocumentKey(dataset, execution.name))).rows;
  }

  it('holds back rows younger than a 10-minute lag in New York, and takes the older one', async () => {
    const run = await sync('ten');

    expect(run).toMatchObject({ status: 'SUCCEEDED' });
    expect(await extractedRows(run, 'ten')).toBe(1);
    expect(await loadedIds('tz_ten')).toEqual([1]);
    expect((await runtime.watermarks().get('ten'))?.position?.key).toEqual(['1']);
  });

  it('takes a row once it is older than the lag in New York: 9 minutes is past a 5-minute lag, 2 minutes is not', async () => {
    const run = await sync('five');

    expect(run).toMatchObject({ status: 'SUCCEEDED' });
    expect(await extractedRows(run, 'five')).toBe(2);
    expect(await loadedIds('tz_five')).toEqual([1, 2]);
  });
});
