/**
 * The Warehouse contract (lambdas/core/ports.ts), one suite for every adapter (DESIGN.md §4):
 * PGlite, a PostgreSQL server, and the production RedshiftDataWarehouse over the local Redshift
 * Data API (on PGlite). Assertions read data back through the warehouse under test.
 */
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { WarehouseStatementError } from '../../lambdas/core/errors';
import type { Warehouse } from '../../lambdas/core/ports';
import { copyFromS3Parquet } from '../../lambdas/core/sql';
import type { ObjectSummary } from '../../lambdas/core/ports';
import { MemoryObjectStore } from '../fixtures/memory-object-store';
import { useTestDatabase } from '../support/postgres';
import { warehouseBackends, type OpenedWarehouse } from '../support/warehouses';

const BUCKET = 'syncproof-contract';
const COPY_ROLE = 'arn:aws:iam::000000000000:role/syncproof-local-copy';

const backends = warehouseBackends(useTestDatabase(), COPY_ROLE);

describe.each(backends)('Warehouse contract: $name', (backend) => {
  let objects: MemoryObjectStore;
  let opened: OpenedWarehouse;
  let warehouse: Warehouse;

  beforeAll(async () => {
    objects = new MemoryObjectStore(BUCKET);
    opened = await backend.open(objects);
    warehouse = opened.warehouse;
  });

  afterAll(async () => {
    await opened?.close();
  });

  let resets = 0;
  beforeEach(async () => {
    // A fresh token each time: the Data API answers a repeated ClientToken with the earlier statement, unrun.
    await warehouse.executeTransaction(
      ['DROP TABLE IF EXISTS public.contract', 'CREATE TABLE public.contract (id BIGINT NOT NULL, name VARCHAR(100))'],
      `reset-${++resets}`,
    );
  });

  async function contents(): Promise<unknown[]> {
    return warehouse.query('SELECT id, name FROM public.contract ORDER BY id');
  }

  it('commits every statement of a transaction', async () => {
    await warehouse.executeTransaction(["INSERT INTO public.contract VALUES (1, 'a')", "INSERT INTO public.contract VALUES (2, 'b')", "UPDATE public.contract SET name = 'c' WHERE id = 2"], 'commit');

    expect(await contents()).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'c' },
    ]);
  });

  it('commits nothing of a transaction in which a statement fails, and names the failing statement index', async () => {
    await warehouse.executeTransaction(["INSERT INTO public.contract VALUES (1, 'kept')"], 'seed');

    const failing = warehouse.executeTransaction(
      ["INSERT INTO public.contract VALUES (2, 'rolled back')", "UPDATE public.contract SET name = 'changed'", 'SELECT * FROM public.no_such_table', 'SELECT 1'],
      'failing',
    );

    await expect(failing).rejects.toBeInstanceOf(WarehouseStatementError);
    await expect(failing).rejects.toMatchObject({ statementIndex: 2, message: expect.stringContaining('no_such_table') });
    expect(await contents()).toEqual([{ id: 1, name: 'kept' }]);
  });

  it('binds :name parameters, with null and the empty string kept apart', async () => {
    await warehouse.executeTransaction(
      ["INSERT INTO public.contract VALUES (1, NULL)", "INSERT INTO public.contract VALUES (2, '')", "INSERT INTO public.contract VALUES (3, 'O''Brien')"],
      'seed',
    );
    const byName = (name: string | null) => warehouse.query('SELECT id FROM public.contract WHERE name IS NOT DISTINCT FROM :name ORDER BY id', { name });

    expect(await byName(null)).toEqual([{ id: 1 }]);
    expect(await byName('')).toEqual([{ id: 2 }]);
    expect(await byName("O'Brien")).toEqual([{ id: 3 }]);
    expect(await warehouse.query('SELECT :n::int + 1 AS next, :flag::boolean AS flag', { n: 41, flag: true })).toEqual([{ next: 42, flag: true }]);
  });

  it('returns values by type: integers and exact decimals as numbers, wider ones as exact text, booleans, ISO timestamps, dates and quoted text', async () => {
    await warehouse.executeTransaction(
      [
        'DROP TABLE IF EXISTS public.typed',
        'CREATE TABLE public.typed (i INT, b BIGINT, wide_b BIGINT, n NUMERIC(12,2), wide_n NUMERIC(20,2), f DOUBLE PRECISION, ok BOOLEAN, ts TIMESTAMP, ts_us TIMESTAMP, d DATE, s VARCHAR(100), nothing VARCHAR(10))',
        "INSERT INTO public.typed VALUES (42, 9007199254740991, 9007199254740993, 12345.67, 123456789012345678.91, 0.5, true, '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.123456', '2026-01-02', 'it''s \"quoted\", \\\\ too', NULL)",
      ],
      'typed',
    );

    const result = await warehouse.query('SELECT i, b, wide_b, n, wide_n, f, ok, ts, ts_us, d, s, nothing FROM public.typed');

    expect(result).toEqual([
      {
        i: 42,
        b: 9007199254740991,
        wide_b: '9007199254740993',
        n: 12345.67,
        wide_n: '123456789012345678.91',
        f: 0.5,
        ok: true,
        ts: '2026-01-02T03:04:05.678Z',
        ts_us: '2026-01-02T03:04:05.123456Z',
        d: '2026-01-02',
        s: 'it\'s "quoted", \\\\ too',
        nothing: null,
      },
    ]);
  });

  it('loads a Parquet object with COPY … FROM s3 … FORMAT AS PARQUET and reads it back', async () => {
    await objects.put(
      'contract/part-0.parquet',
      encodeParquet([
        { name: 'id', type: 'INT64', data: [1n, 2n, 2n ** 53n + 1n] },
        { name: 'name', type: 'STRING', data: ['first', null, 'big, "quoted"'] },
      ]),
    );

    await warehouse.executeTransaction(
      [copyFromS3Parquet({ table: '"public"."contract"', bucket: BUCKET, key: 'contract/part-0.parquet', iamRole: COPY_ROLE })],
      'copy',
    );

    expect(await contents()).toEqual([
      { id: 1, name: 'first' },
      { id: 2, name: null },
      { id: '9007199254740993', name: 'big, "quoted"' },
    ]);
  });

  describe('load views, as Redshift keeps them', () => {
    const file = (name: string) => encodeParquet([{ name: 'id', type: 'INT64', data: [1n, 2n] }, { name: 'name', type: 'STRING', data: [name, name] }]);
    const copy = (key: string) => copyFromS3Parquet({ table: '"public"."contract"', bucket: BUCKET, key, iamRole: COPY_ROLE });
    let runs = 0;
    /** COPYs `key`, keeping pg_last_copy_id() and what sys_load_detail / stl_load_commits showed inside the transaction. */
    async function copyAndLook(key: string): Promise<number> {
      const n = ++runs;
      await warehouse.executeTransaction(
        [
          'DROP TABLE IF EXISTS public.seen_inside',
          copy(key),
          'CREATE TABLE public.seen_inside AS SELECT pg_last_copy_id() AS copy_id, ' +
            '(SELECT COUNT(*) FROM sys_load_detail WHERE query_id = pg_last_copy_id()) AS detail, (SELECT COUNT(*) FROM stl_load_commits WHERE query = pg_last_copy_id()) AS commits',
        ],
        `views-${n}`,
      );
      const [row] = await warehouse.query('SELECT copy_id FROM public.seen_inside');
      return Number(row!.copy_id);
    }
    const detail = (copyId: number) =>
      warehouse.query(
        `SELECT TRIM(file_name) AS file_name, lines_scanned, TRIM(file_etag) AS file_etag, file_last_modified FROM sys_load_detail WHERE query_id = ${copyId}`,
      );

    it('shows no row of a COPY to a statement after it in the same transaction, and every row once it committed', async () => {
      const o = await objects.put('contract/views.parquet', file('v'));

      const copyId = await copyAndLook('contract/views.parquet');

      expect(await warehouse.query('SELECT detail, commits FROM public.seen_inside')).toEqual([{ detail: 0, commits: 0 }]);
      expect(await detail(copyId)).toEqual([{ file_name: `s3://${BUCKET}/contract/views.parquet`, lines_scanned: 2, file_etag: o.etag, file_last_modified: o.lastModified }]);
      expect(await warehouse.query(`SELECT TRIM(filename) AS filename, lines_scanned FROM stl_load_commits WHERE query = ${copyId}`)).toEqual([
        { filename: `s3://${BUCKET}/contract/views.parquet`, lines_scanned: 2 },
      ]);
    });

    it('leaves no load-view row for a COPY whose transaction rolled back', async () => {
      await objects.put('contract/rolled-back.parquet', file('r'));

      await expect(warehouse.executeTransaction([copy('contract/rolled-back.parquet'), 'SELECT * FROM public.no_such_table'], 'rolled-back')).rejects.toBeInstanceOf(
        WarehouseStatementError,
      );

      expect(await warehouse.query(`SELECT COUNT(*) AS n FROM sys_load_detail WHERE TRIM(file_name) = 's3://${BUCKET}/contract/rolled-back.parquet'`)).toEqual([{ n: 0 }]);
      expect(await warehouse.query(`SELECT COUNT(*) AS n FROM stl_load_commits WHERE TRIM(filename) = 's3://${BUCKET}/contract/rolled-back.parquet'`)).toEqual([{ n: 0 }]);
    });

    it('records the ETag and LastModified of the bytes the key holds when the COPY runs (no version is pinned)', async () => {
      await objects.put('contract/current.parquet', file('first'));
      const current: ObjectSummary = await objects.put('contract/current.parquet', file('second'));

      const copyId = await copyAndLook('contract/current.parquet');

      expect(await detail(copyId)).toMatchObject([{ file_etag: current.etag, file_last_modified: current.lastModified }]);
      expect(await contents()).toEqual([
        { id: 1, name: 'second' },
        { id: 2, name: 'second' },
      ]);
    });

    it('holds a file name longer than 256 bytes as its character(256) column does: its first 256 bytes', async () => {
      const key = `contract/${'k'.repeat(300)}.parquet`;
      await objects.put(key, file('long'));

      const copyId = await copyAndLook(key);

      const uri = `s3://${BUCKET}/${key}`;
      expect(await detail(copyId)).toMatchObject([{ file_name: uri.slice(0, 256), lines_scanned: 2 }]);
      expect(await warehouse.query(`SELECT COUNT(*) AS n FROM sys_load_detail WHERE TRIM(file_name) = '${uri}'`)).toEqual([{ n: 0 }]);
    });
  });
});
