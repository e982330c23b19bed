/**
 * NULL values where the target cannot hold them, through `syncproof sync` as a user runs it: a
 * NULL key in an upsert file, or a NULL in a column the user's target declares NOT NULL, is that
 * file's error (quarantined, naming the column and the row), never loaded, and the rest of the
 * batch loads. A target that already holds duplicate keys fails verification with a repair that
 * works as printed. Assertions read back the warehouse and the ledger.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import type { LedgerEntry } from '../../lambdas/core/ports';
import { seedLocalS3Store } from '../../local/emulators';
import { LOCAL_TABLES } from '../../local/runtime';
import { runCli, type CliResult } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';
import { useTestDatabase } from '../support/postgres';

jest.setTimeout(300_000);

const BUCKET = 'syncproof-local';

/** A file of the items dataset: `null` ids and names are written as NULLs. */
function itemsFile(rows: readonly { id: number | null; name: string | null }[]): Buffer {
  return Buffer.from(
    encodeParquet([
      { name: 'id', type: 'INT64', data: rows.map((r) => (r.id === null ? null : BigInt(r.id))) },
      { name: 'name', type: 'STRING', data: rows.map((r) => r.name) },
    ]),
  );
}

const good = (ids: readonly number[]) => itemsFile(ids.map((id) => ({ id, name: `item-${id}` })));

describe('NULLs the target cannot hold, through syncproof sync', () => {
  const databaseUrl = useTestDatabase();
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-null-keys-'));
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function sql<T = Record<string, unknown>>(text: string): Promise<T[]> {
    const client = new Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** A data dir and configuration for dataset `name`, loading into `public.<name>` (created by the test: `name` NOT NULL). */
  async function dataset(name: string): Promise<{ dataDir: string; config: string; sync: () => Promise<CliResult>; ledger: () => Promise<LedgerEntry[]>; rows: () => Promise<string[]> }> {
    const dataDir = join(work, name);
    const config = join(work, `${name}.json`);
    await writeFile(config, JSON.stringify({ datasets: [{ name, prefix: `${name}/`, target: { schema: 'public', table: name }, keyColumns: ['id'], loadMode: 'upsert' }] }));
    await sql(`CREATE TABLE public.${name} (id BIGINT, name VARCHAR(32) NOT NULL)`);
    return {
      dataDir,
      config,
      sync: () => runCli(['sync', name, '--config', config, '--data-dir', dataDir, '--warehouse', databaseUrl()]),
      ledger: () =>
        withLocalDynamoDb(dataDir, async (client) => {
          const out: LedgerEntry[] = [];
          for await (const e of new DynamoDbLedgerStore(client, LOCAL_TABLES.ledger).listDataset(name)) out.push(e);
          return out.sort((a, b) => (a.key < b.key ? -1 : 1));
        }),
      rows: async () => (await sql<{ id: string | null; name: string }>(`SELECT id, name FROM public.${name} ORDER BY id NULLS FIRST, name`)).map((r) => `${r.id ?? 'NULL'}:${r.name}`),
    };
  }

  it('quarantines a file with a NULL key or a NULL in a NOT NULL column, naming column and row, and loads the rest of the batch', async () => {
    const d = await dataset('items');
    await seedLocalS3Store(join(d.dataDir, 's3'), BUCKET, [
      { key: 'items/a.parquet', body: good([1, 2, 3]) },
      { key: 'items/b.parquet', body: itemsFile([{ id: 4, name: 'four' }, { id: null, name: 'nokey' }, { id: 6, name: 'six' }]) },
      { key: 'items/c.parquet', body: itemsFile([{ id: 7, name: 'seven' }, { id: 8, name: 'eight' }, { id: 9, name: null }]) },
    ]);

    const first = await d.sync();

    expect(first.code).toBe(1); // PASSED_WITH_WARNINGS: files were quarantined
    expect(first.stdout).toMatch(/sync items: PASSED_WITH_WARNINGS/);
    expect(await d.rows()).toEqual(['1:item-1', '2:item-2', '3:item-3']);
    const entries = await d.ledger();
    expect(entries.map((e) => [e.key, e.status])).toEqual([
      ['items/a.parquet', 'loaded'],
      ['items/b.parquet', 'quarantined'],
      ['items/c.parquet', 'quarantined'],
    ]);
    expect(entries[1]!.reason).toMatch(/items\/b\.parquet.*NULL in key column 'id'.*row 2\b/);
    expect(entries[2]!.reason).toMatch(/items\/c\.parquet.*NULL in column 'name' at row 3\b.*NOT NULL in public\.items/);

    // The next file with a NULL key is quarantined again: the target never holds a NULL key, a good file loads and passes.
    await seedLocalS3Store(join(d.dataDir, 's3'), BUCKET, [
      { key: 'items/d.parquet', body: itemsFile([{ id: null, name: 'nokey-again' }]) },
      { key: 'items/e.parquet', body: good([10, 11]) },
    ]);
    const second = await d.sync();
    expect(second.code).toBe(1);
    expect(await d.rows()).toEqual(['1:item-1', '2:item-2', '3:item-3', '10:item-10', '11:item-11']);
    expect((await d.ledger()).map((e) => [e.key, e.status])).toEqual([
      ['items/a.parquet', 'loaded'],
      ['items/b.parquet', 'quarantined'],
      ['items/c.parquet', 'quarantined'],
      ['items/d.parquet', 'quarantined'],
      ['items/e.parquet', 'loaded'],
    ]);
  });

  it('fails verification of a target already holding duplicate keys, naming them and printing SQL that repairs it as printed', async () => {
    const d = await dataset('dups');
    await sql("INSERT INTO public.dups (id, name) VALUES (1, 'one-a'), (1, 'one-b'), (NULL, 'x'), (NULL, 'y'), (2, 'two')");
    await seedLocalS3Store(join(d.dataDir, 's3'), BUCKET, [{ key: 'dups/a.parquet', body: good([20, 21]) }]);

    const failed = await d.sync();

    expect(failed.code).toBe(2);
    const output = failed.stdout + failed.stderr;
    expect(output).toMatch(/the target holds 2 rows more than distinct keys/);
    expect(output).toContain('id=1 (2 rows); id=NULL (2 rows)');
    // The printed repair, run as printed (the output may carry it JSON-escaped).
    const repair = /Repair it \([^)]*\): (BEGIN;.*?COMMIT;)/.exec(output.replace(/\\"/g, '"'))?.[1];
    expect(repair).toBeDefined();
    await sql(repair!);
    // One row per key (without a version column, either row of key 1), none with a NULL key.
    expect(await d.rows()).toEqual([expect.stringMatching(/^1:one-[ab]$/), '2:two', '20:item-20', '21:item-21']);

    // The next load verifies the whole target again, and passes.
    await seedLocalS3Store(join(d.dataDir, 's3'), BUCKET, [{ key: 'dups/b.parquet', body: good([22]) }]);
    const next = await d.sync();
    expect([next.code, next.stdout]).toEqual([0, expect.stringMatching(/sync dups: PASSED/)]);
    expect(await d.rows()).toEqual([expect.stringMatching(/^1:one-[ab]$/), '2:two', '20:item-20', '21:item-21', '22:item-22']);
  });
});
