/** A SQLite file's table as a content side (better-sqlite3, read-only; see ./sql-side.ts and dialects/sqlite.ts). */
import Database from 'better-sqlite3';
import { SQLITE_FUNCTIONS, sqliteDialect as d } from '../../core/content/dialects/sqlite';
import { ContentSideError, SqlContentSide, parseTableName, requireColumns, type CatalogColumn } from './sql-side';

export async function openSqliteSide(path: string, tableName: string): Promise<SqlContentSide> {
  const { schema = 'main', table } = parseTableName(tableName);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ContentSideError(`cannot open the SQLite file ${path}: ${(error as Error).message}`);
  }
  try {
    for (const [name, fn] of Object.entries(SQLITE_FUNCTIONS)) db.function(name, { deterministic: true, safeIntegers: true, varargs: true }, fn as (...args: unknown[]) => unknown);
    const info = db.prepare(`PRAGMA ${d.quoteIdent(schema)}.table_info(${d.literal(table)})`).all() as { name: string; type: string }[];
    // SQLite stores every REAL/FLOAT/DOUBLE as an 8-byte double (type affinity REAL): compared at a
    // double's 15 digits, not at the 6 of PostgreSQL's `real`.
    const catalog: CatalogColumn[] = info.map((c) => {
      const type = c.type.toLowerCase();
      return { name: c.name, type: /^(real|float|double)/.test(type) ? 'double precision' : type };
    });
    requireColumns(catalog, `${schema}.${table}`, `the SQLite file ${path}`);
    // better-sqlite3 runs a query in this thread, blocking it: yield once first, so the other
    // side's query of the same pair is sent (at once, on an idle pooled connection) and runs meanwhile.
    const run = async (sql: string) => {
      await new Promise((resolve) => setImmediate(resolve));
      return db.prepare(sql).safeIntegers(true).all() as Record<string, unknown>[];
    };
    return new SqlContentSide('sqlite', d, run, `${d.quoteIdent(schema)}.${d.quoteIdent(table)}`, catalog, async () => void db.close());
  } catch (error) {
    db.close();
    throw error;
  }
}
