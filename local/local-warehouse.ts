/**
 * The local runtime's warehouse (DESIGN.md §7): a Postgres-family warehouse (PGlite or a
 * PostgreSQL server) that, by default, the stages reach through the local Redshift Data API with
 * the production RedshiftDataWarehouse adapter, as a deployed stack reaches Redshift.
 */
import { createRedshiftDataClient } from '../lambdas/adapters/clients';
import { openPostgresWarehouse } from '../lambdas/adapters/postgres-warehouse';
import { MAX_BATCH_STATEMENTS, RedshiftDataWarehouse } from '../lambdas/adapters/redshift-data-warehouse';
import type { RedshiftConfig } from '../lambdas/core/config';
import type { ObjectStore, Warehouse } from '../lambdas/core/ports';
import { startLocalRedshiftDataApi, type DataApiCall, type LocalRedshiftDataApi } from './redshift-data-api/server';

/**
 * How the stages reach the warehouse: `data-api` through the local Redshift Data API with the
 * production RedshiftDataWarehouse adapter (asynchronous statements, ClientToken, 40-statement
 * transactions, COPY role check), or `direct` through the Postgres-family adapter.
 */
export type WarehouseApi = 'data-api' | 'direct';

/** The local "cluster" of a configuration without a `redshift` block (a Serverless workgroup). */
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
  /** Where COPY reads `s3://` objects (as the COPY role: the runtime's IAM check is on this store's client). */
  readonly objects: ObjectStore;
  readonly api: WarehouseApi;
  /**
   * The cluster or workgroup the stages name, as the configuration's `redshift` block gives it
   * (the stages' RedshiftDataWarehouse is built from it as a deployed Lambda builds it); its
   * `copyRoleArn` is the only role the local cluster may assume.
   */
  readonly redshift: RedshiftConfig;
  readonly region: string;
  readonly account: string;
  /** The credentials of {@link LocalWarehouse.stages} (the operator's). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The local Data API's IAM check (see LocalRedshiftDataApiOptions.authorize). @default none */
  readonly authorize?: (call: DataApiCall) => Promise<void>;
}

export interface LocalWarehouse {
  /** The Postgres-family warehouse itself, for read-back. */
  readonly backing: Warehouse;
  /** What the stages use: RedshiftDataWarehouse over the local Data API, or `backing` when direct. */
  readonly stages: Warehouse;
  /**
   * The same as {@link stages}, for a caller signing with `accessKeyId` (one stage Lambda's role:
   * the local Data API authorizes each call by it). One adapter per key, closed with the rest.
   */
  stagesAs(accessKeyId: string): Warehouse;
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
  if (o.api === 'direct') return { backing, stages: backing, stagesAs: () => backing, close: () => backing.close() };
  let api: LocalRedshiftDataApi;
  try {
    api = await startLocalRedshiftDataApi({
      warehouse: backing,
      copyRoles: [o.redshift.copyRoleArn],
      region: o.region,
      account: o.account,
      database: o.redshift.database,
      ...(o.authorize ? { authorize: o.authorize } : {}),
    });
  } catch (error) {
    await backing.close().catch(() => undefined);
    throw error;
  }
  beforeCopyRead = (key) => api.faults.beforeCopyRead(key);
  const clients: { destroy(): void }[] = [];
  const adapters = new Map<string, Warehouse>();
  const stagesAs = (accessKeyId: string): Warehouse => {
    let adapter = adapters.get(accessKeyId);
    if (!adapter) {
      const client = createRedshiftDataClient({ region: o.region, credentials: { accessKeyId, secretAccessKey: o.credentials.secretAccessKey }, redshiftData: api.endpoint });
      clients.push(client);
      const r = o.redshift;
      adapter = new RedshiftDataWarehouse({
        client,
        database: r.database,
        workgroupName: r.workgroupName,
        clusterIdentifier: r.clusterIdentifier,
        secretArn: r.secretArn,
        dbUser: r.dbUser,
        pollIntervalMs: DATA_API_POLL_MS,
        firstPollMs: DATA_API_FIRST_POLL_MS,
      });
      adapters.set(accessKeyId, adapter);
    }
    return adapter;
  };
  return {
    backing,
    stages: stagesAs(o.credentials.accessKeyId),
    stagesAs,
    dataApi: api,
    maxStatementsPerTransaction: MAX_BATCH_STATEMENTS,
    close: async () => {
      await api.stop();
      for (const client of clients) client.destroy();
      await backing.close();
    },
  };
}
