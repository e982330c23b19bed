/**
 * The warehouse as a content side: Redshift-dialect SQL through the Warehouse port
 * (lambdas/core/ports.ts) — the Redshift Data API, or locally the Postgres-family warehouse, which
 * translates it (lambdas/adapters/postgres-sql.ts) and has `strtol` and `to_hex(bytea)`.
 */
import { redshiftDialect as d } from '../../core/content/dialects/redshift';
import type { Warehouse } from '../../core/ports';
import { SqlContentSide, parseTableName, requireColumns, type CatalogColumn } from './sql-side';

/** A side over `tableName` (`schema.table`; default schema `public`). Closing it does not close the warehouse. */
export async function openWarehouseSide(warehouse: Warehouse, tableName: string): Promise<SqlContentSide> {
  const { schema = 'public', table } = parseTableName(tableName);
  const rows = await warehouse.query(
    'SELECT column_name, data_type, numeric_scale, datetime_precision FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position',
    { schema, table },
  );
  const catalog: CatalogColumn[] = rows.map((r) => ({
    name: String(r.column_name),
    type: String(r.data_type).toLowerCase(),
    ...(r.numeric_scale !== null && r.numeric_scale !== undefined ? { scale: Number(r.numeric_scale) } : {}),
    ...(r.datetime_precision !== null && r.datetime_precision !== undefined ? { datetimePrecision: Number(r.datetime_precision) } : {}),
  }));
  requireColumns(catalog, `${schema}.${table}`, 'the warehouse');
  const run = async (sql: string) => (await warehouse.query(sql)) as Record<string, unknown>[];
  return new SqlContentSide('warehouse', d, run, `${d.quoteIdent(schema)}.${d.quoteIdent(table)}`, catalog, async () => undefined);
}
