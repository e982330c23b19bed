/** A MySQL/MariaDB table as a content side (mysql2; see ./sql-side.ts). TIMESTAMP columns read as UTC. */
import { createPool } from 'mysql2/promise';
import { mysqlDialect as d } from '../../core/content/dialects/mysql';
import { SqlContentSide, parseTableName, requireColumns, type CatalogColumn } from './sql-side';

export async function openMysqlSide(url: string, tableName: string): Promise<SqlContentSide> {
  const parsed = parseTableName(tableName);
  // A few connections (the engine asks about several segments at once), each reading TIMESTAMP as UTC.
  const connection = createPool({ uri: url.replace(/^mariadb:/i, 'mysql:'), connectionLimit: 4, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, timezone: 'Z' });
  connection.pool.on('connection', (c) => c.query("SET time_zone = '+00:00'"));
  try {
    const [[current]] = (await connection.query('SELECT DATABASE() AS db')) as unknown as [[{ db: string | null }]];
    const schema = parsed.schema ?? current.db ?? '';
    const [rows] = (await connection.query(
      'SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_TYPE AS full_type, NUMERIC_SCALE AS scale, DATETIME_PRECISION AS dp FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [schema, parsed.table],
    )) as unknown as [Record<string, unknown>[]];
    const catalog: CatalogColumn[] = rows.map((r) => ({
      name: String(r.name),
      type: String(r.full_type).toLowerCase() === 'tinyint(1)' ? 'tinyint(1)' : String(r.type).toLowerCase(),
      ...(r.scale !== null ? { scale: Number(r.scale) } : {}),
      ...(r.dp !== null ? { datetimePrecision: Number(r.dp) } : {}),
    }));
    requireColumns(catalog, `${schema}.${parsed.table}`, 'the MySQL database');
    const run = async (sql: string) => ((await connection.query(sql)) as unknown as [Record<string, unknown>[]])[0];
    return new SqlContentSide('mysql', d, run, `${d.quoteIdent(schema)}.${d.quoteIdent(parsed.table)}`, catalog, () => connection.end());
  } catch (error) {
    await connection.end().catch(() => undefined);
    throw error;
  }
}
