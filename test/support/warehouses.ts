/**
 * The three Warehouse adapters, each opened over an ObjectStore for its COPYs (DESIGN.md §4):
 * PGlite, a PostgreSQL server (the calling file's test database, see ./postgres.ts), and the
 * production RedshiftDataWarehouse over the local Redshift Data API on PGlite.
 */
import { PostgresServerWarehouse, openPostgresWarehouse } from '../../lambdas/adapters/postgres-warehouse';
import { RedshiftDataWarehouse } from '../../lambdas/adapters/redshift-data-warehouse';
import type { ObjectStore, Warehouse } from '../../lambdas/core/ports';
import { startLocalRedshiftDataApi } from '../../local/redshift-data-api/server';

export interface OpenedWarehouse {
  readonly warehouse: Warehouse;
  close(): Promise<void>;
}

export interface WarehouseBackend {
  readonly name: string;
  open(objects: ObjectStore): Promise<OpenedWarehouse>;
}

/** The backends; `serverDatabaseUrl` is useTestDatabase()'s getter, `copyRole` the role the local Data API lets COPY use. */
export function warehouseBackends(serverDatabaseUrl: () => string, copyRole: string): WarehouseBackend[] {
  return [
    {
      name: 'PgliteWarehouse',
      open: async (objects) => {
        const warehouse = await openPostgresWarehouse('pglite:memory', { objects });
        return { warehouse, close: () => warehouse.close() };
      },
    },
    {
      name: 'PostgresServerWarehouse',
      open: async (objects) => {
        const warehouse = await PostgresServerWarehouse.open(serverDatabaseUrl(), { objects });
        return { warehouse, close: () => warehouse.close() };
      },
    },
    {
      name: 'RedshiftDataWarehouse over the local Data API',
      open: async (objects) => {
        const backing = await openPostgresWarehouse('pglite:memory', { objects });
        const api = await startLocalRedshiftDataApi({ warehouse: backing, copyRoles: [copyRole] });
        const client = api.client();
        const warehouse = new RedshiftDataWarehouse({ client, database: 'dev', workgroupName: 'syncproof-local', pollIntervalMs: 5 });
        return {
          warehouse,
          close: async () => {
            await api.stop();
            client.destroy();
            await backing.close();
          },
        };
      },
    },
  ];
}
