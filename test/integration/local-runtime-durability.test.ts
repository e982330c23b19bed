import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocumentClient } from '../../lambdas/adapters/clients';
import { DynamoDbLedgerStore } from '../../lambdas/adapters/dynamodb-stores';
import { openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import type { LedgerEntry, ObjectStore, Row } from '../../lambdas/core/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamoDb } from '../../local/emulators';
import { CliProcess, connectToLocal } from '../support/cli';
import { PARITY_CONFIG_INPUT, eventsFile, ordersFile, range } from './support';


/** The warehouse and ledger a stopped `syncproof local --data-dir` left, read back from its files. */
async function readBack(dataDir: string): Promise<{ rows: (sql: string) => Promise<Row[]>; ledger: LedgerEntry[]; close(): Promise<void> }> {
  const warehouse = await openPostgresWarehouse(`pglite:${join(dataDir, 'warehouse')}`, { objects: undefined as unknown as ObjectStore });
  const dynamo = await startLocalDynamoDb({ path: join(dataDir, 'dynamodb') });
  const store = new DynamoDbLedgerStore(createDocumentClient({ dynamodb: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), 'syncproof-ledger');
  const ledger: LedgerEntry[] = [];
  for (const dataset of ['orders', 'events']) for await (const e of store.listDataset(dataset)) ledger.push(e);
  return {
    rows: (sql) => warehouse.query(sql),
    ledger,
    close: async () => {
      await warehouse.close();
      await dynamo.stop();
    },
  };
}

describe('syncproof local --data-dir survives SIGKILL', () => {
  let work: string;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'syncproof-crash-test-'));
    // Two files per batch: an execution loops over several batches, so a kill finds loads in flight.
    await writeFile(join(work, 'config.json'), JSON.stringify({ ...PARITY_CONFIG_INPUT, maxFilesPerBatch: 2 }));
  });

  afterAll(async () => {
    for (const p of running) p.kill();
    await rm(work, { recursive: true, force: true });
  });

  function start(...extra: string[]): CliProcess {
    const proc = new CliProcess(['local', '--config', join(work, 'config.json'), '--data-dir', join(work, 'state'), '--event-seed', '424242', ...extra]);
    running.push(proc);
    return proc;
  }

  it('loads every accepted upload exactly once and settles every ledger entry after two kills mid-load', async () => {
    const outputs: string[] = [];
    let orders = 0;
    let events = 0;
    for (const round of range(0, 2)) {
      const proc = start();
      const s3 = await connectToLocal(proc);
      const mark = proc.stdout.length;
      const uploads: Promise<unknown>[] = [];
      for (const i of range(0, 4)) {
        const body = ordersFile(range(orders + 1, 20), 0, 'new');
        orders += 20;
        uploads.push(s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `orders/round-${round}/part-${i}.parquet`, Body: body })));
      }
      for (const i of range(0, 2)) {
        const body = eventsFile(range(events + 1, 20));
        events += 20;
        uploads.push(s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `events/round-${round}/part-${i}.parquet`, Body: body })));
      }
      await Promise.all(uploads); // every PUT answered: the runtime has accepted these objects
      await proc.waitFor(/ (orders|events) \S+ PASSED: [1-9]\d* files loaded/, mark); // the first load is in
      await proc.crash();
      outputs.push(proc.stdout);
      s3.client.destroy();
    }

    const last = start('--exit-when-idle');
    expect(await last.exit()).toBe(0);
    outputs.push(last.stdout);
    expect(last.stdout).toContain('idle: no event queued, no execution running');

    const state = await readBack(join(work, 'state'));
    try {
      const [o] = await state.rows('SELECT COUNT(*) AS n, COUNT(DISTINCT order_id) AS k FROM public.orders');
      const [e] = await state.rows('SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS k FROM public.events');
      const [a] = await state.rows('SELECT COUNT(*) AS n, COUNT(DISTINCT object_key) AS k FROM public.syncproof_load_files');
      expect({ rows: Number(o?.n), ids: Number(o?.k) }).toEqual({ rows: orders, ids: orders });
      expect({ rows: Number(e?.n), ids: Number(e?.k) }).toEqual({ rows: events, ids: events });
      expect({ files: Number(a?.n), keys: Number(a?.k) }).toEqual({ files: 12, keys: 12 });
      expect(state.ledger).toHaveLength(12);
      expect(state.ledger.filter((x) => x.status !== 'loaded').map((x) => `${x.key}: ${x.status} ${x.reason ?? ''}`)).toEqual([]);
    } finally {
      await state.close();
    }
    // Evidence that kills landed mid-execution: later processes restarted what earlier ones ran.
    expect(outputs.join('\n')).toMatch(/\(restarted at \w+\)/);
  });
});
