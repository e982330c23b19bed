/**
 * Content comparison in SQLite (see ./dialect.ts). SQLite has no MD5 and stores values loosely, so
 * the side registers JavaScript functions (better-sqlite3 `db.function`, see
 * {@link SQLITE_FUNCTIONS}): `md5`, `strtol` (as Redshift has them) and `syncproof_norm(value,
 * type)`, which is normalize.ts normalizeValue. SUM of integers is exact in SQLite (an overflow is
 * an error, never a wrap).
 */
import type { ComparedType } from '../model';
import { canonicalRow, floatRowText, md5Hex, normalizeValue } from '../normalize';
import type { NativeColumn, SqlDialect } from './dialect';

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  quoteIdent: (name) => `"${name.replaceAll('"', '""')}"`,
  literal: (text) => `'${text.replaceAll("'", "''")}'`,
  text(expr: string, type: ComparedType, _native: NativeColumn): string {
    return `syncproof_norm(${expr}, '${JSON.stringify(type)}')`;
  },
  floatText: (expr) => `syncproof_float(${expr})`,
  // One JavaScript call a row (not one a value plus md5): SQLite's function-call overhead was most of a side's time.
  canonicalMd5: (columns) => `syncproof_row_md5('${JSON.stringify(columns.map((c) => c.type))}', ${columns.map((c) => c.expr).join(', ')})`,
  concat: (parts) => parts.join(' || '),
  md5: (expr) => `md5(${expr})`,
  hex32: (hex, start) => `strtol(SUBSTR(${hex}, ${start}, 8), 16)`,
  sumText: (expr) => `CAST(SUM(${expr}) AS TEXT)`,
  intDiv: (dividend, divisor) => `(${dividend}) / ${divisor}`,
  fence: ' LIMIT -1',
};

/** SQLite storage values: what better-sqlite3 hands a registered function. */
type SqliteValue = number | bigint | string | Uint8Array | null;

const types = new Map<string, ComparedType>();
function typeOf(json: string): ComparedType {
  let type = types.get(json);
  if (!type) types.set(json, (type = JSON.parse(json) as ComparedType));
  return type;
}

const typeLists = new Map<string, readonly ComparedType[]>();
function typesOf(json: string): readonly ComparedType[] {
  let list = typeLists.get(json);
  if (!list) typeLists.set(json, (list = JSON.parse(json) as ComparedType[]));
  return list;
}

/** normalize.ts normalizeValue of a SQLite storage value (SQLite keeps booleans as 0/1, timestamps as text or numbers, JSON and decimals as text). */
function sqliteNorm(value: SqliteValue, t: ComparedType): string | null {
  if (t.kind === 'binary' && typeof value === 'string') return Buffer.from(value, 'utf8').toString('hex');
  return normalizeValue(value, t);
}

/** The functions a SQLite side registers before it queries (name → deterministic function). */
export const SQLITE_FUNCTIONS: Readonly<Record<string, (...args: SqliteValue[]) => SqliteValue>> = {
  md5: (text) => (text === null ? null : md5Hex(String(text))),
  strtol: (text, base) => (text === null ? null : BigInt(Number.parseInt(String(text), Number(base)))),
  syncproof_norm: (value, type) => sqliteNorm(value, typeOf(String(type))),
  syncproof_row_md5: (types, ...values) => {
    const list = typesOf(String(types));
    return md5Hex(canonicalRow(values.map((v, i) => sqliteNorm(v, list[i]!))));
  },
  syncproof_float: (value) => floatRowText(value),
};
