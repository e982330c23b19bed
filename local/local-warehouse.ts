/**
 * The local runtime's warehouse (DESIGN.md §7): a Postgres-family warehouse (PGlite or a
 * PostgreSQL server) that, by default, the stages reach through the local Redshift Data API with
 * the production RedshiftDataWarehouse adapter, as a deployed stack reaches Redshift.
 */
import { createRedshiftDataClient } from '../lambdas/adapters/clients';
import { openPostgresWarehouse } from '../lambdas/adapters/postgres-warehouse';
import { MAX_BATCH_STATEMENTS, RedshiftDataWarehouse } from '../lambdas/adapters/redshift-data-warehouse';
import type { ObjectStore, Warehouse } from '../lambdas/core/ports';
import { startLocalRedshiftDataApi, type LocalRedshiftDataApi } from './redshift-data-api/server';

/**
 * How the stages reach the warehouse: `data-api` through the local Redshift Data API with the
 * production RedshiftDataWarehouse adapter (asynchronous statements, ClientToken, 40-statement
 * transactions, COPY role check), or `direct` through the Postgres-family adapter.
 */
export type WarehouseApi = 'data-api' | 'direct';

/** Names the stages use for the local "cluster", as a deployed stack's config would. */
export const LOCAL_REDSHIFT = { database: 'dev', workgroupName: 'syncproof-local' } as const;

/** Longest pause between the stages' DescribeStatement polls of the local Data API (milliseconds). */
const DATA_API_POLL_MS = 10;
/**
 * Pause before a statement's first DescribeStatement poll: the local warehouse ends an audit read
 * in about a millisecond, so a first poll a whole interval later would be most of its cost.
 */
const DATA_API_FIRST_POLL_MS = 1;

export interface LocalWarehouseOptions {
  /** `pglite:<dir>`, `pglite:memory` or `postgres://…` (see openPostgresWarehouse). */
  readonly url: string;
  /** Where COPY reads `s3://` objects. */
  readonly objects: ObjectStore;
  readonly api: WarehouseApi;
  /** The role COPY names, the only one the local cluster may assume. */
  readonly copyRoleArn: string;
  readonly region: string;
  readonly account: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface LocalWarehouse {
  /** The Postgres-family warehouse itself, for read-back. */
  readonly backing: Warehouse;
  /** What the stages use: RedshiftDataWarehouse over the local Data API, or `backing` when direct. */
  readonly stages: Warehouse;
  /** The local Data API, when the stages use it. */
  readonly dataApi?: LocalRedshiftDataApi;
  /** Statements per transaction the stages may send (40 over the Data API, as depsFromEnv says). */
  readonly maxStatementsPerTransaction?: number;
  /** Stops the Data API (after its executing statements end), then closes the backing warehouse. */
  close(): Promise<void>;
}

/** Opens the backing warehouse and, for `data-api`, the local Data API over it. */
export async function openLocalWarehouse(o: LocalWarehouseOptions): Promise<LocalWarehouse> {
  // Bound once the Data API (and its fault hooks) exists.
  let beforeCopyRead: ((key: string) => Promise<void>) | undefined;
  const backing = await openPostgresWarehouse(o.url, { objects: o.objects, beforeCopyRead: (key) => beforeCopyRead?.(key) ?? Promise.resolve() });
  if (o.api === 'direct') return { backing, stages: backing, close: () => backing.close() };
  let api: LocalRedshiftDataApi;
  try {
    api = await startLocalRedshiftDataApi({ warehouse: backing, copyRoles: [o.copyRoleArn], region: o.region, account: o.account, database: LOCAL_REDSHIFT.database });
  } catch (error) {
    await backing.close().catch(() => undefined);
    throw error;
  }
  beforeCopyRead = (key) => api.faults.beforeCopyRead(key);
  const client = createRedshiftDataClient({ region: o.region, credentials: { ...o.credentials }, redshiftData: api.endpoint });
  const stages = new RedshiftDataWarehouse({ client, ...LOCAL_REDSHIFT, pollIntervalMs: DATA_API_POLL_MS, firstPollMs: DATA_API_FIRST_POLL_MS });
  return {
    backing,
    stages,
    dataApi: api,
    maxStatementsPerTransaction: MAX_BATCH_STATEMENTS,
    close: async () => {
      await api.stop();
      client.destroy();
      await backing.close();
    },
  };
}
