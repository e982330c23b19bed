/**
 * Several datasets in one SyncDatasetsStateMachine execution, end to end on the local runtime: a
 * PostgreSQL source server, the S3 and DynamoDB emulators, the embedded warehouse behind the local
 * Redshift Data API, and the synthesized state machines (the parent's Map starts each dataset as
 * a child SyncStateMachine execution with startExecution.sync:2). Assertions read back the
 * warehouse, the watermarks in DynamoDB, the run records and the executions' own intervals.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lambdas/core/config';
import { childExecutionName } from '../../lambdas/core/dataset-batch';
import * as extractHandler from '../../lambdas/extract/handler';
import type { LocalHandler } from '../../local/lambda-sandbox';
import { ExecutionJournal } from '../../local/execution-journal';
import { LocalRuntime } from '../../local/runtime';
import type { ExecutionSummary } from '../../local/runtime-options';
import { openSourceUrl } from '../../cli/source-connect';
import { runCliInProcess } from '../support/cli-in-process';
import { startDbRuntime, type DbRuntime } from '../support/db-runtime';
import { startTestSource, type TestSourceDb } from '../support/source-db';

jest.setTimeout(240_000);

const TABLES = ['alpha', 'beta', 'gamma'] as const;

function ddl(table: string): string {
  return `CREATE TABLE ${table} (id BIGINT NOT NULL PRIMARY KEY, customer VARCHAR(50) NOT NULL, updated_at TIMESTAMP(6) NOT NULL)`;
}

function insert(table: string, ids: readonly number[]): string {
  return `INSERT INTO ${table} (id, customer, updated_at) VALUES ${ids.map((id) => `(${id}, '${table}-${id}', TIMESTAMP '2024-03-01 10:00:00' + INTERVAL '${id} seconds')`).join(', ')}`;
}

/** Whether two executions ran at the same time: each started before the other stopped. */
function overlap(a: ExecutionSummary, b: ExecutionSummary): boolean {
  return Date.parse(a.startDate!) < Date.parse(b.stopDate!) && Date.parse(b.startDate!) < Date.parse(a.stopDate!);
}

/** The most executions running at one instant (at a start). */
function mostAtOnce(executions: readonly ExecutionSummary[]): number {
  return Math.max(...executions.map((e) => executions.filter((o) => Date.parse(o.startDate!) <= Date.parse(e.startDate!) && Date.parse(e.startDate!) < Date.parse(o.stopDate!)).length));
}

describe('several datasets in one execution', () => {
  let db: TestSourceDb;
  let rt: DbRuntime;
  let runtime: LocalRuntime;
  const children = (parent: string, datasets: readonly string[]) =>
    datasets.map((d) => {
      const e = runtime.executions().find((x) => x.name === childExecutionName(parent, d));
      if (!e) throw new Error(`no child execution of ${d}`);
      return e;
    });
  const ids = async (dataset: string) => (await rt.query(`SELECT id FROM ${rt.target(dataset)} ORDER BY id`)).map((r) => Number(r.id));

  beforeAll(async () => {
    db = await startTestSource('postgres');
    for (const t of TABLES) await db.exec(ddl(t));
    await db.exec(insert('alpha', [1, 2, 3]));
    await db.exec(insert('beta', [1, 2]));
    await db.exec(insert('gamma', [1, 2, 3, 4]));
    rt = await startDbRuntime('postgres', db, TABLES.map((t) => ({ name: t, table: t })), { maxConcurrentDatasets: 2 });
    runtime = rt.runtime;
  });

  afterAll(async () => {
    await rt?.stop();
    await db?.stop();
  });

  it('loads every dataset, each in its own child execution, at most maxConcurrentDatasets of them at once', async () => {
    const parent = await runtime.startExecution({ datasets: [...TABLES] }, 'all-three', 'datasets');

    expect(parent).toMatchObject({ status: 'SUCCEEDED', machine: 'datasets' });
    expect(parent.output).toMatchObject({ status: 'PASSED', failed: [], failedCount: 0 });
    expect((parent.output as { datasets: unknown[] }).datasets).toEqual(
      TABLES.map((d) => ({ dataset: d, execution: childExecutionName('all-three', d), executionStatus: 'SUCCEEDED', status: 'PASSED' })),
    );
    expect(await ids('alpha')).toEqual([1, 2, 3]);
    expect(await ids('beta')).toEqual([1, 2]);
    expect(await ids('gamma')).toEqual([1, 2, 3, 4]);
    const runs = children('all-three', TABLES);
    expect(runs.map((e) => [e.machine, e.status, e.run?.status, e.input])).toEqual(TABLES.map((d) => ['sync', 'SUCCEEDED', 'PASSED', { dataset: d }]));
    // The Map starts the first two at once (they overlap) and the third only when one of them ended.
    expect(overlap(runs[0]!, runs[1]!)).toBe(true);
    expect(mostAtOnce(runs)).toBe(2);
    // The parent's run record holds each dataset's outcome.
    expect(parent.run).toMatchObject({ status: 'PASSED', dataset: 'alpha,beta,gamma' });
  });

  it('fails the execution naming a dataset whose table was dropped, while the other still loads and moves its watermark', async () => {
    const before = await runtime.watermarks().get('alpha');
    await db.exec(insert('alpha', [4, 5]));
    await db.exec('DROP TABLE beta');

    const parent = await runtime.startExecution({ datasets: ['beta', 'alpha'] }, 'one-broken', 'datasets');

    expect(parent).toMatchObject({ status: 'FAILED', error: 'DatasetsFailedError' });
    expect(parent.cause).toContain('1 of 2 datasets failed');
    expect(parent.cause).toContain('beta (SourceTableMissingError: source table public.beta');
    const [beta, alpha] = children('one-broken', ['beta', 'alpha']);
    expect(beta).toMatchObject({ status: 'FAILED', error: 'SourceTableMissingError' });
    expect(alpha).toMatchObject({ status: 'SUCCEEDED' });
    expect(alpha!.run?.status).toBe('PASSED');
    expect(overlap(beta!, alpha!)).toBe(true);
    expect(await ids('alpha')).toEqual([1, 2, 3, 4, 5]);
    expect(await ids('beta')).toEqual([1, 2]);
    const after = await runtime.watermarks().get('alpha');
    expect(after!.version).toBeGreaterThan(before!.version);
    expect(after!.position?.key).toEqual(['5']);
    expect(parent.run).toMatchObject({ status: 'FAILED', stages: { finish: { status: 'FAILED' } } });
  });

  it('syncproof sync --all reports each dataset and exits with the worst of them', async () => {
    const work = await mkdtemp(join(tmpdir(), 'syncproof-sync-all-'));
    try {
      const config = {
        maxConcurrentDatasets: 2,
        datasets: TABLES.map((t) => ({ name: t, target: { schema: 'public', table: `cli_${t}` }, source: { engine: 'postgres', url: db.url, table: `public.${t}`, cursorColumn: 'updated_at' } })),
      };
      await writeFile(join(work, 'config.json'), JSON.stringify(config));

      const result = await runCliInProcess(['sync', '--all', '--config', join(work, 'config.json'), '--json', join(work, 'report.json')], { openSource: openSourceUrl });

      // beta's table was dropped by the test before: it fails, alpha and gamma load.
      expect(result.code).toBe(2);
      const report = JSON.parse(await readFile(join(work, 'report.json'), 'utf8')) as { executionStatus: string; exitCode: number; datasets: { dataset: string; status: string; executionStatus: string }[] };
      expect(report).toMatchObject({ executionStatus: 'FAILED', exitCode: 2 });
      expect(report.datasets.map((d) => [d.dataset, d.executionStatus, d.status])).toEqual([
        ['alpha', 'SUCCEEDED', 'PASSED'],
        ['beta', 'FAILED', 'FAILED'],
        ['gamma', 'SUCCEEDED', 'PASSED'],
      ]);
      expect(result.stdout).toContain('sync alpha: PASSED');
      expect(result.stdout).toContain('sync beta: FAILED');
      expect(result.stdout).toMatch(/sync of 3 datasets: execution sync-datasets-\d+ FAILED; failed: beta \(exit 2\)/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('refuses an unknown or repeated dataset before starting any child', async () => {
    const before = runtime.executions().length;
    const parent = await runtime.startExecution({ datasets: ['alpha', 'alpha', 'omega'] }, 'bad-input', 'datasets');

    expect(parent).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
    expect(parent.cause).toContain("dataset 'alpha' is named twice");
    expect(parent.cause).toContain("unknown dataset 'omega'");
    expect(runtime.executions().slice(before).map((e) => e.name)).toEqual(['bad-input']);
  });
});

describe('a SyncDatasetsStateMachine execution restarted from the journal', () => {
  let db: TestSourceDb;
  let dataDir: string;

  beforeAll(async () => {
    db = await startTestSource('postgres');
    for (const t of ['one', 'two']) {
      await db.exec(ddl(t));
      await db.exec(insert(t, [1, 2]));
    }
    dataDir = await mkdtemp(join(tmpdir(), 'syncproof-datasets-restart-'));
  });

  afterAll(async () => {
    await db?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('meets the child that ended before the crash again instead of starting a second one of that name', async () => {
    const config = {
      datasets: ['one', 'two'].map((t) => ({ name: t, target: { schema: 'public', table: `restart_${t}` }, source: { engine: 'postgres', url: db.url, table: `public.${t}`, cursorColumn: 'updated_at' } })),
    };
    const parsed = parseConfig(config);
    // A first process syncs `one` as the child of `nightly`, then dies with `nightly` still in its Map:
    // its journal holds the running parent (in SyncDatasets) and the child that ended.
    let runtime = await LocalRuntime.start({ config: parsed, dataDir, s3Events: false });
    const child = await runtime.startExecution({ dataset: 'one' }, childExecutionName('nightly', 'one'));
    expect(child.status).toBe('SUCCEEDED');
    await runtime.stop();
    const { journal } = await ExecutionJournal.open(join(dataDir, 'executions'));
    const items = ['one', 'two'].map((d) => ({ dataset: d, name: childExecutionName('nightly', d), input: { dataset: d } }));
    const parent = { name: 'nightly', machine: 'datasets' as const, input: { datasets: ['one', 'two'] } };
    await journal.begin(parent);
    await journal.enter(parent, 'SyncDatasets', { items });

    // The next process restarts `nightly` at SyncDatasets; it asks for both children again.
    const extracts: string[] = [];
    runtime = await LocalRuntime.start({
      config: parsed,
      dataDir,
      s3Events: false,
      stageHandlers: {
        extract: (event, context) => {
          extracts.push(String((event as { input: { dataset: string } }).input.dataset));
          return (extractHandler.handler as LocalHandler)(event, context);
        },
      },
    });
    try {
      await runtime.waitForIdle();
      const restarted = runtime.executions().find((e) => e.name === 'nightly');
      expect(restarted).toMatchObject({ status: 'SUCCEEDED', restartedAt: 'SyncDatasets' });
      expect((restarted!.output as { datasets: unknown[] }).datasets).toEqual([
        { dataset: 'one', execution: childExecutionName('nightly', 'one'), executionStatus: 'SUCCEEDED', status: 'PASSED' },
        { dataset: 'two', execution: childExecutionName('nightly', 'two'), executionStatus: 'SUCCEEDED', status: 'PASSED' },
      ]);
      // Only `two` ran in this process: `one`'s outcome came from the journal.
      expect(runtime.executions().map((e) => e.name).sort()).toEqual([childExecutionName('nightly', 'two'), 'nightly'].sort());
      expect(extracts).toEqual(['two']);
      const rows = await (await runtime.warehouse()).query('SELECT id FROM public.restart_one ORDER BY id');
      expect(rows.map((r) => Number(r.id))).toEqual([1, 2]);
    } finally {
      await runtime.stop();
    }
  });
});
