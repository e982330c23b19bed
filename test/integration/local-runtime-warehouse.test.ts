/**
 * The local runtime's warehouse wiring (DESIGN.md §7): by default the stages get the production
 * RedshiftDataWarehouse over the local Redshift Data API on the embedded PGlite; read-back goes to
 * the backing warehouse directly. Plain SQL only: the load stage's SQL is not exercised here.
 */
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { RedshiftDataWarehouse } from '../../lambdas/adapters/redshift-data-warehouse';
import { WarehouseStatementError } from '../../lambdas/core/errors';
import { copyFromS3Parquet } from '../../lambdas/core/sql';
import type { LocalRuntime } from '../../local/runtime';
import { startRuntime } from './support';

describe('local runtime warehouse: data-api (default)', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startRuntime({ s3Events: false });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('gives the stages RedshiftDataWarehouse over the local Data API, with the Data API limit of 40 statements in the deps', async () => {
    const stages = await runtime.deps.warehouse();

    expect(stages).toBeInstanceOf(RedshiftDataWarehouse);
    expect(stages.statements).toBeDefined();
    expect(runtime.deps.maxStatementsPerTransaction).toBe(40);
    expect(runtime.dataApi()?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('reads back from runtime.warehouse() what the stages committed through the Data API', async () => {
    const stages = await runtime.deps.warehouse();

    await stages.executeTransaction(['CREATE TABLE public.wired (id BIGINT, name VARCHAR(20))', "INSERT INTO public.wired VALUES (1, 'through')"], 'wired');

    expect(await (await runtime.warehouse()).query('SELECT id, name FROM public.wired')).toEqual([{ id: 1, name: 'through' }]);
  });

  it("loads a Parquet object from the S3 emulator with a COPY naming the runtime's copy role, and refuses another role", async () => {
    const stages = await runtime.deps.warehouse();
    await runtime.deps.objects.put('wired/part-0.parquet', encodeParquet([{ name: 'id', type: 'INT64', data: [7n, 8n] }]));
    const copy = (iamRole: string) => copyFromS3Parquet({ table: '"public"."copied"', bucket: runtime.bucket, key: 'wired/part-0.parquet', iamRole });
    await stages.executeTransaction(['CREATE TABLE public.copied (id BIGINT)'], 'copied-ddl');

    await stages.executeTransaction([copy(runtime.deps.copyRoleArn)], 'copied');
    const refused = stages.executeTransaction([copy('arn:aws:iam::000000000000:role/another')], 'refused');

    await expect(refused).rejects.toBeInstanceOf(WarehouseStatementError);
    await expect(refused).rejects.toThrow('is not authorized to assume IAM Role arn:aws:iam::000000000000:role/another');
    expect(await (await runtime.warehouse()).query('SELECT id FROM public.copied ORDER BY id')).toEqual([{ id: 7 }, { id: 8 }]);
  });
});

describe('local runtime warehouse: direct', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startRuntime({ s3Events: false, warehouseApi: 'direct' });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('gives the stages the backing warehouse itself, without a Data API or statement limit', async () => {
    expect(await runtime.deps.warehouse()).toBe(await runtime.warehouse());
    expect(runtime.dataApi()).toBeUndefined();
    expect(runtime.deps.maxStatementsPerTransaction).toBeUndefined();
  });
});
