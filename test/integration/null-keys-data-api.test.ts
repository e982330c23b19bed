/**
 * The NULL-key guard through the production RedshiftDataWarehouse over the local Redshift Data API
 * (PGlite), on the manifest path (one COPY for the batch, a version column): the guard cannot tell
 * which file a staged row came from, so the stage reads the attempt's files to name the culprit.
 * Assertions read back the warehouse and the ledger.
 */
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { parseConfig } from '../../lambdas/core/config';
import type { LocalRuntime } from '../../local/runtime';
import { startRuntime } from './support';

jest.setTimeout(180_000);

const CONFIG = parseConfig({
  datasets: [
    {
      name: 'items',
      prefix: 'items/',
      target: { schema: 'public', table: 'items' },
      keyColumns: ['id'],
      versionColumn: 'v',
      columns: [
        { name: 'id', type: 'BIGINT' },
        { name: 'v', type: 'BIGINT' },
      ],
    },
  ],
});

function file(ids: readonly (number | null)[]): Uint8Array {
  return encodeParquet([
    { name: 'id', type: 'INT64', data: ids.map((id) => (id === null ? null : BigInt(id))) },
    { name: 'v', type: 'INT64', data: ids.map(() => 1n) },
  ]);
}

describe('NULL keys over the local Redshift Data API, one COPY per batch', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startRuntime({ config: CONFIG, s3Events: false });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('quarantines the file with the NULL key, naming the row, and loads the other file of the batch', async () => {
    await runtime.deps.objects.put('items/a.parquet', file([1, 2]));
    const bad = await runtime.deps.objects.put('items/b.parquet', file([3, 4, null]));

    const execution = await runtime.startExecution({ dataset: 'items' });

    expect(execution.run?.status).toBe('PASSED_WITH_WARNINGS');
    expect((await (await runtime.warehouse()).query('SELECT id FROM public.items ORDER BY id')).map((r) => Number(r.id))).toEqual([1, 2]);
    const entry = await runtime.deps.ledger.get('items/b.parquet', bad.etag);
    expect(entry?.status).toBe('quarantined');
    expect(entry?.reason).toMatch(/NULL in key column 'id' at row 3 of 3/);
  });
});
