/** A PostgreSQL table as a content side (pg; see ./sql-side.ts). */
import { Pool } from 'pg';
import { postgresDialect as d } from '../../core/content/dialects/postgres';
import { SqlContentSide, parseTableName, requireColumns, type CatalogColumn, type NativeOffer } from './sql-side';

/**
 * The session settings every value's text output depends on, fixed so that two servers print
 * equal values alike (the same-engine fast path hashes that output), and no JIT: the content
 * queries are long expressions over every row, which JIT spent seconds compiling (measured: 2.9 s
 * of a 6 s root query over 1,000,000 rows).
 */
const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=1 -c bytea_output=hex -c jit=off';

/** Types whose text output depends on more than the settings above (money: lc_monetary): never hashed natively. */
const NOT_NATIVE = new Set(['money']);

/** PostgreSQL's native hash of the row text (dialects/postgres.ts nativeHash); the probe names the major version too (text output changed across versions). */
const NATIVE: NativeOffer = {
  engine: 'postgres/hashtextextended',
  probeSql: "SELECT CAST(hashtextextended('syncproof probe ~| é ☃', 0) AS TEXT) || '/' || CAST(current_setting('server_version_num')::int / 10000 AS TEXT) AS p",
};

export async function openPostgresSide(url: string, tableName: string): Promise<SqlContentSide> {
  const { schema = 'public', table } = parseTableName(tableName);
  // A few connections: the engine asks about several segments at once.
  const client = new Pool({ connectionString: url, max: 4, options: SESSION_OPTIONS });
  client.on('error', () => undefined);
  try {
    const { rows } = await client.query(
      'SELECT column_name, data_type, udt_name, numeric_scale, datetime_precision FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [schema, table],
    );
    const catalog: CatalogColumn[] = rows.map((r) => ({
      name: r.column_name as string,
      type: String(r.data_type).toLowerCase(),
      ...(r.numeric_scale !== null ? { scale: Number(r.numeric_scale) } : {}),
      ...(r.datetime_precision !== null ? { datetimePrecision: Number(r.datetime_precision) } : {}),
      ...(NOT_NATIVE.has(String(r.udt_name)) ? {} : { nativeType: `${String(r.udt_name)}/${r.numeric_scale ?? ''}/${r.datetime_precision ?? ''}` }),
    }));
    requireColumns(catalog, `${schema}.${table}`, 'the PostgreSQL database');
    const run = async (sql: string) => (await client.query(sql)).rows as Record<string, unknown>[];
    return new SqlContentSide('postgres', d, run, `${d.quoteIdent(schema)}.${d.quoteIdent(table)}`, catalog, () => client.end(), NATIVE);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
