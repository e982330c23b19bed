import { Client } from 'pg';
import { encodeParquet } from '../../lambdas/adapters/parquet-file';
import { parseConfig, type SyncproofConfigInput, type SyncproofConfig } from '../../lambdas/core/config';
import type { LedgerEntry, Row } from '../../lambdas/core/ports';
import { DEMO_CONFIG, DEMO_DATASET, ordersFile } from '../../local/demo';
import { LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime';

export { ordersFile };

/** The demo dataset's configuration: orders upserted by order_id into public.orders. */
export const ORDERS_CONFIG: SyncproofConfig = DEMO_CONFIG;

/**
 * Orders (upsert by order_id) and events (append: a double load shows as doubled rows), as the
 * JSON a user writes.
 */
export const PARITY_CONFIG_INPUT: SyncproofConfigInput = {
  datasets: [
    DEMO_DATASET,
    {
      name: 'events',
      prefix: 'events/',
      target: { schema: 'public', table: 'events' },
      loadMode: 'append',
      columns: [
        { name: 'event_id', type: 'BIGINT' },
        { name: 'kind', type: 'VARCHAR(16)' },
      ],
    },
  ],
  maxFilesPerBatch: 100,
};

export const PARITY_CONFIG: SyncproofConfig = parseConfig(PARITY_CONFIG_INPUT);

/** One Parquet file of the events dataset with ids `ids`. */
export function eventsFile(ids: readonly number[]): Uint8Array {
  return encodeParquet([
    { name: 'event_id', type: 'INT64', data: ids.map((id) => BigInt(id)) },
    { name: 'kind', type: 'STRING', data: ids.map(() => 'click') },
  ]);
}

export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

export async function startRuntime(options: Partial<LocalRuntimeOptions> = {}): Promise<LocalRuntime> {
  return LocalRuntime.start({ config: ORDERS_CONFIG, ...options });
}

/** Uploads through the S3 emulator (its events drive the pipeline) and waits until all runs end. */
export async function uploadAndSettle(runtime: LocalRuntime, files: { key: string; body: Uint8Array }[]): Promise<void> {
  for (const f of files) await runtime.deps.objects.put(f.key, f.body);
  await runtime.waitForIdle();
}

export async function query(runtime: LocalRuntime, sql: string): Promise<Row[]> {
  return (await runtime.warehouse()).query(sql);
}

/** Row count, distinct keys and one order's status, read back from the warehouse. */
export async function ordersState(runtime: LocalRuntime): Promise<{ rows: number; keys: number }> {
  const [r] = await query(runtime, 'SELECT COUNT(*) AS n, COUNT(DISTINCT order_id) AS k FROM public.orders');
  return { rows: Number(r?.n), keys: Number(r?.k) };
}

/** Ledger entries of a key, read back from DynamoDB. */
export async function ledgerEntries(runtime: LocalRuntime, key: string): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const e of runtime.deps.ledger.listDataset('orders')) if (e.key === key) out.push(e);
  return out;
}

/** Runs one statement on the PostgreSQL server at `url` (a test's warehouse) on a connection of its own, and returns its rows. */
export async function queryUrl(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}
