/** A PostgreSQL table as a content side (pg; see ./sql-side.ts). */
import { Pool } from 'pg';
import { postgresDialect as d } from '../../core/content/dialects/postgres';
import { SqlContentSide, parseTableName, requireColumns, type CatalogColumn } from './sql-side';

export async function openPostgresSide(url: string, tableName: string): Promise<SqlContentSide> {
  const { schema = 'public', table } = parseTableName(tableName);
  // A few connections: the engine asks about several segments at once.
  const client = new Pool({ connectionString: url, max: 4, options: '-c TimeZone=UTC' });
  client.on('error', () => undefined);
  try {
    const { rows } = await client.query(
      'SELECT column_name, data_type, numeric_scale, datetime_precision FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [schema, table],
    );
    const catalog: CatalogColumn[] = rows.map((r) => ({
      name: r.column_name as string,
      type: String(r.data_type).toLowerCase(),
      ...(r.numeric_scale !== null ? { scale: Number(r.numeric_scale) } : {}),
      ...(r.datetime_precision !== null ? { datetimePrecision: Number(r.datetime_precision) } : {}),
    }));
    requireColumns(catalog, `${schema}.${table}`, 'the PostgreSQL database');
    const run = async (sql: string) => (await client.query(sql)).rows as Record<string, unknown>[];
    return new SqlContentSide('postgres', d, run, `${d.quoteIdent(schema)}.${d.quoteIdent(table)}`, catalog, () => client.end());
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
