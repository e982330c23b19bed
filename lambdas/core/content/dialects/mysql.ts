/**
 * Content comparison in MySQL/MariaDB (see ./dialect.ts): MD5() of the canonical text converted
 * to utf8mb4, CONV(hex, 16, 10) as UNSIGNED, SUM(UNSIGNED) → DECIMAL (exact). TIMESTAMP columns
 * read as UTC: the side sets the session `time_zone` to `+00:00`.
 */
import type { ComparedType } from '../model';
import { floatHashText, timestampCut, type NativeColumn, type SqlDialect } from './dialect';

export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  quoteIdent: (name) => `\`${name.replaceAll('`', '``')}\``,
  literal: (text) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`,
  text(expr: string, type: ComparedType, _native: NativeColumn): string {
    switch (type.kind) {
      case 'integer':
        return `CAST(${expr} AS CHAR)`;
      case 'decimal':
        return `CAST(CAST(${expr} AS DECIMAL(65,${type.scale})) AS CHAR)`;
      case 'float':
        return floatHashText(this, `CAST(${expr} AS DOUBLE)`, type.digits, { log10: 'LOG10', bigint: 'SIGNED', text: 'CHAR' });
      case 'boolean':
        return `CASE WHEN ${expr} <> 0 THEN '1' WHEN ${expr} = 0 THEN '0' END`;
      case 'date':
        return `DATE_FORMAT(${expr}, '%Y-%m-%d')`;
      case 'timestamp':
        return timestampCut(`DATE_FORMAT(${expr}, '%Y-%m-%d %H:%i:%s.%f')`, type.precision);
      case 'text':
        return `CONVERT(${expr} USING utf8mb4)`;
      case 'binary':
        return `LOWER(HEX(${expr}))`;
      case 'json':
        // MySQL prints a JSON column canonically (keys by length then bytes, ", " and ": "), as
        // PostgreSQL's jsonb does; MariaDB's JSON is LONGTEXT as written, so it matches only when
        // written canonically (as the extraction writes it).
        return `CONVERT(${expr} USING utf8mb4)`;
    }
  },
  floatText: (expr) => `CAST(${expr} AS CHAR)`,
  concat: (parts) => `CONCAT(${parts.join(', ')})`,
  md5: (expr) => `MD5(CONVERT(${expr} USING utf8mb4))`,
  hex32: (hex, start) => `CAST(CONV(SUBSTRING(${hex}, ${start}, 8), 16, 10) AS UNSIGNED)`,
  sumText: (expr) => `CAST(SUM(${expr}) AS CHAR)`,
  intDiv: (dividend, divisor) => `(${dividend}) DIV ${divisor}`,
  // A derived table with LIMIT is materialized, never merged: its MD5 is computed once per row (merged, it ran once per reference).
  fence: ' LIMIT 18446744073709551615',
};
