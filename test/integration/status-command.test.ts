/**
 * `syncproof status`, `runs` and `sample` (issue #16) against a data dir after real runs of the
 * local runtime: a loaded dataset, a quarantined file, a failed run, a dead-lettered event and a
 * verification; the lag thresholds are crossed by moving the commands' clock (SYNCPROOF_NOW),
 * never by waiting. Assertions read the commands' stdout and exit codes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as triggerHandler from '../../lambdas/trigger/handler';
import { parseConfig, type SyncproofConfigInput } from '../../lambdas/core/config';
import type { StatusReport } from '../../lambdas/core/status';
import type { LocalHandler } from '../../local/lambda-sandbox';
import { LocalRuntime } from '../../local/runtime';
import { createPglite } from '../../lambdas/adapters/pglite-loader';
import { NOW_ENV } from '../../cli/status-command';
import { localStatusSource } from '../../local/status-page/local-status';
import { openSourceUrl } from '../../cli/source-connect';
import type { CliResult } from '../support/cli';
import { runCli } from '../support/cli';
import { runCliInProcess } from '../support/cli-in-process';
import { DEMO_DATASET } from '../../local/demo';
import { eventsFile, ordersFile, range } from './support';

jest.setTimeout(300_000);

/** The database dataset's source: an embedded PGlite database in the test's directory. */
let sourceUrl: string;

const config = (): SyncproofConfigInput => ({
  datasets: [
    DEMO_DATASET,
    { name: 'events', prefix: 'events/', target: { schema: 'public', table: 'events' }, loadMode: 'append', columns: [{ name: 'event_id', type: 'BIGINT' }, { name: 'kind', type: 'VARCHAR(16)' }], lagWarn: '1h', lagFail: '6h' },
    // No columns: the load stage does not create the table, and it does not exist: its run fails.
    { name: 'broken', prefix: 'broken/', target: { schema: 'public', table: 'missing_table' }, keyColumns: ['order_id'] },
    // Keyed by its table's primary key (not declared): sample finds it in the schema document. Its
    // column tag is a Redshift reserved word, so the target names it col_tag.
    { name: 'customers', source: { engine: 'postgres', url: sourceUrl, table: 'shop.customers', cursorColumn: 'updated_at' }, target: { schema: 'public', table: 'customers' } },
  ],
  maxFilesPerBatch: 100,
});

const POISON = 'orders/poison.parquet';
const NOT_PARQUET = 'orders/not-parquet.parquet';

describe('syncproof status, runs and sample after real runs', () => {
  let work: string;
  let dataDir: string;
  let configPath: string;
  /** When the runs ended (the commands' clock is set relative to it). */
  let ranAt: number;
  /** The status the running runtime gave (what `syncproof local` and the status page show). */
  let inRuntime: StatusReport;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-status-test-'));
    dataDir = join(work, 'state');
    configPath = join(work, 'config.json');
    sourceUrl = `pglite:${join(work, 'source')}`;
    const source = await createPglite(join(work, 'source'));
    await source.exec(
      'CREATE SCHEMA shop; CREATE TABLE shop.customers (id BIGINT PRIMARY KEY, tag BYTEA, note TEXT, updated_at TIMESTAMP(6) NOT NULL); ' +
        `INSERT INTO shop.customers SELECT i, decode('00ff' || lpad(to_hex(i), 2, '0'), 'hex'), CASE WHEN i = 11 THEN NULL ELSE repeat('long ', 20) END, (now() AT TIME ZONE 'UTC') - INTERVAL '30 minutes' FROM generate_series(10, 12) AS i`,
    );
    await source.close();
    await writeFile(configPath, JSON.stringify(config()));
    // The trigger fails every delivery of one object's event: after maxReceiveCount it is dead-lettered.
    const trigger: LocalHandler = async (event, context) => {
      const records = (event as { Records: { body: string }[] }).Records;
      if (records.some((r) => r.body.includes(POISON))) throw new Error('trigger failure injected by the test');
      return triggerHandler.handler(event, context);
    };
    const runtime = await LocalRuntime.start({ config: parseConfig(config()), dataDir, stageHandlers: { trigger }, eventDelivery: { seed: 16, duplicateRate: 0 } });
    try {
      await runtime.deps.objects.put('orders/a.parquet', ordersFile(range(1, 5), 0, 'new'));
      await runtime.deps.objects.put('events/a.parquet', eventsFile(range(1, 3)));
      await runtime.deps.objects.put('broken/a.parquet', ordersFile(range(1, 2), 0, 'new'));
      await runtime.waitForIdle();
      await runtime.deps.objects.put(NOT_PARQUET, new TextEncoder().encode('order_id,status\n1,new\n'));
      await runtime.waitForIdle();
      // Alone, so that the trigger's failures dead-letter no other event.
      await runtime.deps.objects.put(POISON, ordersFile(range(100, 2), 0, 'new'));
      await runtime.waitForIdle();
      await runtime.startVerification('orders', { checksumSample: 'all' });
      await runtime.startExecution({ dataset: 'customers' });
      inRuntime = await localStatusSource(runtime).status();
    } finally {
      await runtime.stop();
    }
    ranAt = Date.now();
  });

  afterAll(async () => {
    delete process.env[NOW_ENV];
    await rm(work, { recursive: true, force: true });
  });

  /** `syncproof ARGS` in this process, its clock `minutes` after the runs. */
  async function cli(args: string[], minutes = 10): Promise<CliResult> {
    process.env[NOW_ENV] = new Date(ranAt + minutes * 60_000).toISOString();
    try {
      return await runCliInProcess(args, { openSource: openSourceUrl });
    } finally {
      delete process.env[NOW_ENV];
    }
  }

  const target = () => ['--config', configPath, '--data-dir', dataDir];

  it('reports each dataset: a quarantined file with its reason, a dead-lettered event, a failed run, the last verification', async () => {
    const r = await cli(['status', ...target(), '--json']);
    expect([r.code, r.stderr]).toEqual([2, '']);
    const report = JSON.parse(r.stdout) as StatusReport;
    expect(report).toMatchObject({ health: 'failing', exitCode: 2 });
    const [orders, events, broken, customers] = report.datasets;
    expect(orders).toMatchObject({ dataset: 'orders', kind: 'files', health: 'failing', deadLetters: 1, ledger: { loaded: 1, quarantined: 1 }, lag: { level: 'ok', seconds: expect.any(Number) } });
    expect(orders!.quarantined).toEqual([expect.objectContaining({ key: NOT_PARQUET, reason: expect.stringMatching(/not a Parquet file/) })]);
    expect(orders!.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^1 dead-lettered event of this dataset waits/), expect.stringMatching(/^1 file is quarantined/)]));
    expect(orders!.lastVerification).toMatchObject({ kind: 'verification', tier: 'counts' });
    expect(orders!.runs.map((x) => [x.kind, x.files])).toEqual([['verification', undefined], ['sync', 0], ['sync', 1]]);
    expect(orders!.lastRun).toMatchObject({ kind: 'sync', mode: 'event', status: 'PASSED_WITH_WARNINGS', files: 0 });
    expect(events).toMatchObject({ dataset: 'events', health: 'healthy', reasons: [], deadLetters: 0, ledger: { loaded: 1 } });
    expect(broken).toMatchObject({ dataset: 'broken', health: 'failing', lastRun: { status: 'FAILED', error: expect.stringMatching(/missing_table/) } });
    expect(broken!.reasons[0]).toMatch(/^the last run broken-\S+ FAILED: .*missing_table/);
    expect(customers).toMatchObject({ dataset: 'customers', kind: 'database', health: 'healthy', lag: { level: 'ok', provenThrough: { basis: 'cursor' } }, watermark: { key: ['12'] } });
  });

  it('gives a running runtime the same verdicts from its own stores and queue', async () => {
    const r = await cli(['status', ...target(), '--json'], 0);
    const fromDataDir = JSON.parse(r.stdout) as StatusReport;
    const verdicts = (report: StatusReport) => report.datasets.map((d) => [d.dataset, d.health, d.deadLetters, d.quarantined.length, d.lastRun?.runId]);
    expect(verdicts(inRuntime)).toEqual(verdicts(fromDataDir));
  });

  it('prints a table on a terminal and exits 2 when a dataset fails, as a separate process', async () => {
    process.env[NOW_ENV] = new Date(ranAt + 10 * 60_000).toISOString();
    let r: CliResult;
    try {
      r = await runCli(['status', ...target()]);
    } finally {
      delete process.env[NOW_ENV];
    }
    expect([r.code, r.stderr]).toEqual([2, '']);
    const rows = r.stdout.split('\n').slice(1, 5).map((l) => l.split(/\s{2,}/).slice(0, 2));
    expect(rows).toEqual([['orders', 'failing'], ['events', 'healthy'], ['broken', 'failing'], ['customers', 'healthy']]);
    expect(r.stdout).toContain(`quarantined:         ${NOT_PARQUET}`);
    expect(r.stdout).toMatch(/status at \S+: failing \(exit 2\)\n$/);
  });

  it.each([
    [10, 0, 'healthy', undefined],
    [2 * 60, 1, 'warning', /^sync lag 2h 0m is at or above lagWarn \(1h 0m\)/],
    [7 * 60, 2, 'failing', /^sync lag 7h 0m is at or above lagFail \(6h 0m\)/],
  ])('judges the lag of a dataset %i minutes after its load: exit %i (%s)', async (minutes, code, health, reason) => {
    const r = await cli(['status', 'events', ...target(), '--json'], minutes);
    const report = JSON.parse(r.stdout) as StatusReport;
    expect([r.code, report.datasets.map((d) => [d.dataset, d.health])]).toEqual([code, [['events', health]]]);
    if (reason) expect(report.datasets[0]!.reasons).toEqual([expect.stringMatching(reason)]);
  });

  it('lists runs as jobs, newest first, filtered by status', async () => {
    const all = await cli(['runs', 'orders', '--data-dir', dataDir, '--json']);
    expect([all.code, all.stderr]).toEqual([0, '']);
    const runs = JSON.parse(all.stdout) as { kind: string; mode?: string; rows?: number; files?: number; startedAt: string; reportUri?: string }[];
    expect(runs.map((x) => x.kind)).toEqual(['verification', 'sync', 'sync']);
    expect(runs.map((x) => x.startedAt)).toEqual(runs.map((x) => x.startedAt).sort().reverse());
    expect(runs[2]).toMatchObject({ mode: 'event', rows: 5, files: 1, reportUri: expect.stringMatching(/^s3:\/\//) });
    const failed = await cli(['runs', ...target(), '--status', 'failed', '--json']);
    expect((JSON.parse(failed.stdout) as { dataset: string; status: string }[]).filter((x) => x.dataset === 'broken')).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    const table = await cli(['runs', 'broken', '--data-dir', dataDir]);
    expect(table.stdout.split('\n')[1]).toMatch(/^broken-\S+\s+broken\s+sync\s+event\s+FAILED\s/);
  });

  it('shows a run: its stages with their evidence, the error and the report; an unknown run id exits 3 naming it', async () => {
    const [run] = JSON.parse((await cli(['runs', 'orders', '--data-dir', dataDir, '--json', '--limit', '1'])).stdout.replace(/^[^[]*/, '')) as { runId: string }[];
    const verification = await cli(['runs', 'show', run!.runId, '--data-dir', dataDir]);
    expect([verification.code, verification.stderr]).toEqual([0, '']);
    expect(verification.stdout).toMatch(/^ {2}inventory\n/m);
    expect(verification.stdout).toMatch(/^ {2}finish\n {4}status: \S+\n/m);
    expect(verification.stdout).toMatch(/^ {2}report: +s3:\/\/syncproof-local\//m);
    const unknown = await cli(['runs', 'show', 'no-such-run', '--data-dir', dataDir]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^syncproof: no run 'no-such-run' in the local state in .*; `syncproof runs DATASET` lists/);
  });

  it('samples the target table: first rows by key, a key filter, a seeded random sample as CSV', async () => {
    const first = await cli(['sample', 'orders', ...target(), '--first', '2']);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(first.stdout.split('\n').slice(1, 3).map((l) => l.split(/\s+/)[0])).toEqual(['1', '2']);
    expect(first.stdout).toContain('2 rows of public.orders (dataset orders), first by key (order_id)');
    const one = await cli(['sample', 'orders', ...target(), '--where', 'order_id=3', '--format', 'json']);
    expect((JSON.parse(one.stdout) as Record<string, unknown>[]).map((row) => [row.order_id, row.status])).toEqual([[3, 'new']]);
    const random = () => cli(['sample', 'orders', ...target(), '--random', '3', '--seed', 's1', '--format', 'csv']);
    const [a, b] = [await random(), await random()];
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.split('\r\n')[0]).toBe('order_id,customer_id,status,amount,updated_at');
    expect(a.stdout.trimEnd().split('\r\n')).toHaveLength(4);
  });

  it("samples a database dataset by its table's primary key, showing binary as 0x…, NULL and long text cut", async () => {
    const r = await cli(['sample', 'customers', ...target(), '--where', 'id=10', '--where', 'id=10']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const [header, row] = r.stdout.split('\n');
    expect(header!.split(/\s+/)).toEqual(['id', 'col_tag', 'note', 'updated_at']);
    expect(row).toMatch(/^10\s+0x00ff0a\s+long long .*…\(100 chars\)\s+\S/);
    const second = await cli(['sample', 'customers', ...target(), '--where', 'id=11', '--format', 'json']);
    expect(JSON.parse(second.stdout)).toEqual([expect.objectContaining({ id: 11, col_tag: '0x00ff0b', note: null })]);
  });

  it.each([
    ['status of an unknown dataset', () => ['status', 'ordrs', ...target()], /unknown dataset 'ordrs'; did you mean 'orders'\?/],
    ['status without a state', () => ['status', '--config', configPath], /give exactly one of --data-dir DIR/],
    ['status on a directory that is no data dir', () => ['status', '--config', configPath, '--data-dir', join(work, 'nothing')], /--data-dir '.*nothing' does not exist/],
    ['runs without a dataset or --config', () => ['runs', '--data-dir', dataDir], /name a dataset \(`syncproof runs DATASET`\), or pass --config FILE/],
    ['runs with an unknown status', () => ['runs', 'orders', '--data-dir', dataDir, '--status', 'DONE'], /--status must be one of RUNNING, PASSED/],
    ['sample of a dataset whose table does not exist', () => ['sample', 'broken', ...target()], /the target table public\.missing_table of dataset 'broken' does not exist in the warehouse \(yet\)/],
    ['sample --seed without --random', () => ['sample', 'orders', ...target(), '--seed', 'x'], /--seed applies to --random only/],
  ])('%s: exit 3 with one line saying what to do', async (_kind, args, message) => {
    const r = await cli(args());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses a filter on a non-key column or a value of the wrong type, naming the column and the keys', async () => {
    const column = await cli(['sample', 'orders', ...target(), '--where', 'status=new']);
    expect([column.code, column.stderr]).toEqual([3, "syncproof: --where: column 'status' is not a key column of dataset 'orders'; filter on its key columns: order_id\n"]);
    const value = await cli(['sample', 'orders', ...target(), '--where', 'order_id=abc']);
    expect(value.code).toBe(3);
    expect(value.stderr).toMatch(/column 'order_id' is bigint, so give a whole number; key columns of dataset 'orders': order_id/);
  });
});
