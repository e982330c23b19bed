/**
 * One run per dataset at a time (issue #13 item 4, DESIGN.md §5): a second start of a dataset
 * attaches to the live run (same mode) or waits for it (another mode), on the local runtime as on
 * AWS — the rule is in the SyncStateMachine (AcquireRun) and the run lock in DynamoDB, with
 * DescribeExecution under the record role's IAM. Every assertion reads S3, DynamoDB or the
 * warehouse back; the stage hooks only record which execution called which stage, in order.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import * as extractHandler from '../../lambdas/extract/handler';
import * as recordHandler from '../../lambdas/record/handler';
import { createS3Client } from '../../lambdas/adapters/clients';
import { DynamoDbRunStore } from '../../lambdas/adapters/dynamodb-stores';
import { createPglite } from '../../lambdas/adapters/pglite-loader';
import { PgliteSource } from '../../lambdas/adapters/postgres-source';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { S3ObjectStore } from '../../lambdas/adapters/s3-object-store';
import { parseConfig, type SyncproofConfig } from '../../lambdas/core/config';
import { extractionDocumentPrefix } from '../../lambdas/core/extraction';
import type { ObjectStore } from '../../lambdas/core/ports';
import { runLockId } from '../../lambdas/core/run-lock';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3 } from '../../local/emulators';
import type { LocalHandler } from '../../local/lambda-sandbox';
import { LOCAL_TABLES, LocalRuntime } from '../../local/runtime';
import { CliProcess, runCli } from '../support/cli';
import { withLocalDynamoDb } from '../support/local-state';

jest.setTimeout(180_000);

const BUCKET = 'syncproof-local';

/** `shop.<table>`: `rows` orders stamped one second apart from 2024-03-01 10:00:00. */
function ordersSql(table: string, rows: number): string {
  return (
    `CREATE SCHEMA IF NOT EXISTS shop; CREATE TABLE shop.${table} (id BIGINT PRIMARY KEY, customer VARCHAR(50) NOT NULL, amount NUMERIC(12,2), updated_at TIMESTAMP(6) NOT NULL); ` +
    `CREATE INDEX ${table}_cursor ON shop.${table} (updated_at, id); ` +
    `INSERT INTO shop.${table} SELECT i, 'c' || i, (i % 1000) / 10.0, TIMESTAMP '2024-03-01 10:00:00' + i * INTERVAL '1 second' FROM generate_series(1, ${rows}) AS i`
  );
}

function dataset(name: string, url: string, limit: number): Record<string, unknown> {
  return { name, target: { schema: 'public', table: name }, source: { engine: 'postgres', url, table: `shop.${name}`, cursorColumn: 'updated_at', limit } };
}

/** Every object key under `prefix`. */
async function keysUnder(objects: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of objects.list(prefix)) keys.push(o.key);
  return keys;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('one run per dataset at a time, on the local runtime', () => {
  let db: PGlite;
  let runtime: LocalRuntime;
  /** `<execution>:<what>` in the order the stages saw them: `extract`, `acquire:<answer>`, `completed`, `failed`. */
  const events: string[] = [];
  const watchers: { test: () => boolean; resolve: () => void }[] = [];
  /** Holds an execution's first Extract invocation until released. */
  const gates = new Map<string, Promise<void>>();

  function note(event: string): void {
    events.push(event);
    for (const w of [...watchers]) if (w.test()) (watchers.splice(watchers.indexOf(w), 1), w.resolve());
  }

  /** Resolves once one of `wanted` has happened (no clock: whichever comes first). */
  function untilAny(...wanted: string[]): Promise<void> {
    const test = () => wanted.some((w) => events.includes(w));
    if (test()) return Promise.resolve();
    return new Promise((resolve) => watchers.push({ test, resolve }));
  }

  /** The executions whose Extract ran for `dataset`'s runs, in order of first extraction. */
  function extractors(prefix: string): string[] {
    return [...new Set(events.filter((e) => e.startsWith(prefix) && e.endsWith(':extract')).map((e) => e.split(':')[0]!))];
  }

  beforeAll(async () => {
    db = await createPglite();
    await db.exec(ordersSql('twice', 3000));
    await db.exec(ordersSql('race', 2000));
    const config: SyncproofConfig = parseConfig({ datasets: [dataset('twice', 'pglite:/in-memory', 1000), dataset('race', 'pglite:/in-memory', 1000)] });
    const extract: LocalHandler = async (event, context) => {
      const runId = (event as { runId: string }).runId;
      note(`${runId}:extract`);
      const gate = gates.get(runId);
      gates.delete(runId);
      if (gate) await gate;
      return (extractHandler.handler as LocalHandler)(event, context);
    };
    const record: LocalHandler = async (event, context) => {
      const e = event as { outcome: string; runId: string };
      const result = (await (recordHandler.handler as LocalHandler)(event, context)) as { lock?: string };
      if (e.outcome === 'acquire') note(`${e.runId}:acquire:${result.lock}`);
      if (e.outcome === 'completed' || e.outcome === 'failed') note(`${e.runId}:${e.outcome}`);
      return result;
    };
    runtime = await LocalRuntime.start({ config, s3Events: false, sources: () => Promise.resolve(new PgliteSource(db)), stageHandlers: { extract, record } });
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.close();
  });

  it('two starts of one dataset at once: one extracts and loads, the other attaches and ends with its outcome', async () => {
    const gate = deferred();
    gates.set('twice-a', gate.promise);
    const first = runtime.startExecution({ dataset: 'twice' }, 'twice-a');
    await untilAny('twice-a:extract');
    const second = runtime.startExecution({ dataset: 'twice' }, 'twice-b');
    // The second has attached (or, without the rule, started extracting itself).
    await untilAny('twice-b:acquire:ATTACHED', 'twice-b:extract');
    gate.resolve();
    const [a, b] = await Promise.all([first, second]);

    expect(extractors('twice-')).toEqual(['twice-a']);
    expect([a.status, a.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
    expect([b.status, b.run?.status]).toEqual(['SUCCEEDED', 'PASSED']);
    expect(b.output).toMatchObject({ attachedTo: 'twice-a', runId: 'twice-a', status: 'PASSED' });
    expect(b.run?.stages?.attached).toMatchObject({ execution: 'twice-a', executionStatus: 'SUCCEEDED' });

    // Read back: one run's files and extraction document, each file loaded once, every row once.
    const objects = runtime.deps.objects;
    const chunks = await keysUnder(objects, '_syncproof/extracts/twice/');
    expect(chunks.filter((k) => k.endsWith('.parquet'))).toEqual([1, 2, 3].map((n) => `_syncproof/extracts/twice/twice-a/chunk-${String(n).padStart(6, '0')}.parquet`));
    expect(await keysUnder(objects, extractionDocumentPrefix('twice'))).toEqual([`${extractionDocumentPrefix('twice')}twice-a.json`]);
    const warehouse = await runtime.warehouse();
    const [rows] = await warehouse.query('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS k FROM public.twice');
    expect([Number(rows?.n), Number(rows?.k)]).toEqual([3000, 3000]);
    const [audit] = await warehouse.query("SELECT COUNT(*) AS n, COUNT(DISTINCT object_key) AS k FROM public.syncproof_load_files WHERE object_key LIKE '_syncproof/extracts/twice/%'");
    expect([Number(audit?.n), Number(audit?.k)]).toEqual([3, 3]);
    // The lock was released: nobody holds the dataset any more.
    expect(await runtime.deps.runLocks!.get('twice')).toBeUndefined();
  });

  it('a full run started while an incremental one is live waits for it, so the target and the watermark are the full snapshot', async () => {
    const first = await runtime.startExecution({ dataset: 'race' }, 'race-1');
    expect(first.run?.status).toBe('PASSED');
    // Changes the incremental run reads, and deletes only a full run sees.
    await db.exec(
      `UPDATE shop.race SET amount = amount + 1000, updated_at = TIMESTAMP '2024-04-01 00:00:00' + id * INTERVAL '1 millisecond' WHERE id % 10 = 0; ` +
        `DELETE FROM shop.race WHERE id % 40 = 1; ` +
        `INSERT INTO shop.race SELECT i, 'n' || i, 1.5, TIMESTAMP '2024-04-02 00:00:00' + i * INTERVAL '1 second' FROM generate_series(2001, 2100) AS i`,
    );
    const gate = deferred();
    gates.set('race-inc', gate.promise);
    const incremental = runtime.startExecution({ dataset: 'race' }, 'race-inc');
    await untilAny('race-inc:extract');
    const full = runtime.startExecution({ dataset: 'race', mode: 'full' }, 'race-full');
    await untilAny('race-full:acquire:WAIT', 'race-full:extract');
    gate.resolve();
    const [inc, snap] = await Promise.all([incremental, full]);

    expect([inc.status, inc.run?.status, snap.status, snap.run?.status]).toEqual(['SUCCEEDED', 'PASSED', 'SUCCEEDED', 'PASSED']);
    // They did not race: the full run extracted only once the incremental one had finished.
    const incrementalDone = events.indexOf('race-inc:completed');
    expect(incrementalDone).toBeGreaterThan(-1);
    expect(events.indexOf('race-full:extract')).toBeGreaterThan(incrementalDone);

    // The target is the source, row for row, and the watermark is the full run's, at its last row (I6).
    const source = (await db.query<{ k: string; a: string }>('SELECT id::text AS k, amount::text AS a FROM shop.race ORDER BY id')).rows.map((r) => ({ id: r.k, amount: r.a }));
    const target = (await (await runtime.warehouse()).query('SELECT id, amount FROM public.race ORDER BY id')).map((r) => ({ id: String(r.id), amount: Number(r.amount).toFixed(2) }));
    expect(target).toEqual(source);
    const [last] = (await db.query<{ id: string; cursor: string }>("SELECT id::text AS id, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') AS cursor FROM shop.race ORDER BY updated_at DESC, id DESC LIMIT 1")).rows;
    const watermark = await runtime.watermarks().get('race');
    expect(watermark?.lastRun?.runId).toBe('race-full');
    expect(watermark?.position?.key).toEqual([last!.id]);
    expect(watermark?.position?.cursor.startsWith(last!.cursor)).toBe(true);
  });
});

describe('syncproof sync killed with SIGKILL and started again', () => {
  const ROWS = 10_000;
  const LIMIT = 500;
  const CHUNKS = ROWS / LIMIT;
  let work: string;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-onerun-'));
    const source = await createPglite(join(work, 'source'));
    await source.exec(ordersSql('orders', ROWS));
    await source.close();
    await writeFile(join(work, 'config.json'), JSON.stringify({ datasets: [dataset('orders', `pglite:${join(work, 'source')}`, LIMIT)] }));
  });

  afterAll(async () => {
    for (const p of running) p.kill();
    await rm(work, { recursive: true, force: true });
  });

  /** Chunk objects of the dataset written so far, read from the S3 emulator's directory. */
  async function chunksOnDisk(): Promise<number> {
    const runs = join(work, 'state', 's3', BUCKET, '_syncproof', 'extracts', 'orders');
    let n = 0;
    for (const run of await readdir(runs).catch(() => [] as string[])) {
      n += (await readdir(join(runs, run)).catch(() => [] as string[])).filter((f) => f.endsWith('.parquet._S3rver_object')).length;
    }
    return n;
  }

  it('does the work once: the second sync attaches to the restarted run, each chunk is extracted and loaded once, and it exits 0', async () => {
    const args = ['sync', 'orders', '--config', join(work, 'config.json'), '--data-dir', join(work, 'state')];
    const killed = new CliProcess(args);
    running.push(killed);
    // Kill it mid-extraction: once a few chunks are on S3.
    for (;;) {
      if ((await chunksOnDisk()) >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await killed.crash();
    const atKill = await chunksOnDisk();
    expect(atKill).toBeLessThan(CHUNKS); // the precondition: extraction was cut short

    const again = await runCli([...args, '--json', join(work, 'report.json')]);
    expect({ code: again.code, stderr: again.code === 0 ? '' : again.stderr }).toEqual({ code: 0, stderr: '' });
    // S3: one run's chunks (the killed execution's, finished by its restart), each once, and one extraction document.
    const s3 = await startLocalS3({ bucket: BUCKET, directory: join(work, 'state', 's3') });
    const client = createS3Client({ s3: s3.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    let extracted: string;
    try {
      const objects = new S3ObjectStore(client, BUCKET);
      const chunks = (await keysUnder(objects, '_syncproof/extracts/orders/')).filter((k) => k.endsWith('.parquet'));
      const runsWithChunks = [...new Set(chunks.map((k) => k.split('/')[3]!))];
      expect(runsWithChunks).toHaveLength(1);
      extracted = runsWithChunks[0]!;
      expect(chunks).toEqual(Array.from({ length: CHUNKS }, (_, i) => `_syncproof/extracts/orders/${extracted}/chunk-${String(i + 1).padStart(6, '0')}.parquet`));
      expect(await keysUnder(objects, extractionDocumentPrefix('orders'))).toEqual([`${extractionDocumentPrefix('orders')}${extracted}.json`]);
    } finally {
      client.destroy();
      await s3.stop();
    }
    // The warehouse: every row once, every chunk loaded once.
    const warehouse = await openPostgresWarehouse(`pglite:${join(work, 'state', 'warehouse')}`, { objects: undefined as unknown as ObjectStore });
    try {
      const [rows] = await warehouse.query('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS k FROM public.orders');
      expect([Number(rows?.n), Number(rows?.k)]).toEqual([ROWS, ROWS]);
      const [audit] = await warehouse.query('SELECT COUNT(*) AS n, COUNT(DISTINCT object_key) AS k FROM public.syncproof_load_files');
      expect([Number(audit?.n), Number(audit?.k)]).toEqual([CHUNKS, CHUNKS]);
    } finally {
      await warehouse.close();
    }
    // The command reported that run: the killed execution's, which its own execution attached to.
    const report = JSON.parse(await readFile(join(work, 'report.json'), 'utf8')) as { execution: string; attachedTo?: string; status: string; extract?: { files?: number } };
    expect(report.status).toBe('PASSED');
    expect(report.attachedTo).toBe(extracted);
    expect(report.attachedTo).not.toBe(report.execution);
    expect(report.extract?.files).toBe(CHUNKS);
    // DynamoDB: the attached execution's run record names the run that did the work; no lock is left.
    await withLocalDynamoDb(join(work, 'state'), async (ddb) => {
      const runs = new DynamoDbRunStore(ddb, LOCAL_TABLES.runs);
      expect((await runs.get(report.execution))?.stages?.attached).toMatchObject({ execution: report.attachedTo, executionStatus: 'SUCCEEDED' });
      expect((await runs.get(report.attachedTo!))?.status).toBe('PASSED');
      expect(await runs.get(runLockId('orders'))).toBeUndefined();
    });
  });
});
