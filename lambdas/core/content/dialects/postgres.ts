/** Content comparison in PostgreSQL (see ./dialect.ts): md5(), `('x' || hex)::bit(32)::bigint`, SUM(bigint) → numeric. */
import type { ComparedType } from '../model';
import { floatHashText, timestampCut, type NativeColumn, type SqlDialect } from './dialect';

const isTz = (native: NativeColumn) => /with time zone|timestamptz/.test(native.type);

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  quoteIdent: (name) => `"${name.replaceAll('"', '""')}"`,
  literal: (text) => `'${text.replaceAll("'", "''")}'`,
  text(expr: string, type: ComparedType, native: NativeColumn): string {
    switch (type.kind) {
      case 'integer':
        return /^bool/.test(native.type) ? `CASE WHEN ${expr} THEN '1' WHEN NOT ${expr} THEN '0' END` : `CAST(${expr} AS TEXT)`;
      case 'decimal':
        return `CAST(ROUND(CAST(${expr} AS NUMERIC), ${type.scale}) AS TEXT)`;
      case 'float': {
        const x = `CAST(${expr} AS DOUBLE PRECISION)`;
        return `CASE WHEN ${x} IN ('NaN', 'Infinity', '-Infinity') THEN CAST(${x} AS TEXT) ELSE ${floatHashText(this, x, type.digits, { log10: 'LOG', bigint: 'BIGINT', text: 'TEXT' })} END`;
      }
      case 'boolean':
        return /^bool/.test(native.type) ? `CASE WHEN ${expr} THEN '1' WHEN NOT ${expr} THEN '0' END` : `CASE WHEN ${expr} <> 0 THEN '1' WHEN ${expr} = 0 THEN '0' END`;
      case 'date':
        return `TO_CHAR(${expr}, 'YYYY-MM-DD')`;
      case 'timestamp':
        return timestampCut(`TO_CHAR(${isTz(native) ? `${expr} AT TIME ZONE 'UTC'` : expr}, 'YYYY-MM-DD HH24:MI:SS.US')`, type.precision);
      case 'text':
        // CHAR(n) keeps its padding, as the server prints it and the extraction reads and loads it
        // (a cast to TEXT would strip the trailing blanks); CONCAT prints through the type's output.
        return /^(character|bpchar)$/.test(native.type) ? `CASE WHEN ${expr} IS NOT NULL THEN CONCAT('', ${expr}) END` : `CAST(${expr} AS TEXT)`;
      case 'binary':
        return `ENCODE(${expr}, 'hex')`;
      case 'json':
        return native.type === 'jsonb' ? `CAST(${expr} AS TEXT)` : `CAST(CAST(${expr} AS JSONB) AS TEXT)`;
    }
  },
  floatText: (expr) => `CAST(CAST(${expr} AS DOUBLE PRECISION) AS TEXT)`,
  concat: (parts) => parts.join(' || '),
  md5: (expr) => `MD5(${expr})`,
  hex32: (hex, start) => `CAST(CAST(('x' || SUBSTR(${hex}, ${start}, 8)) AS BIT(32)) AS BIGINT)`,
  sumText: (expr) => `CAST(SUM(${expr}) AS TEXT)`,
  intDiv: (dividend, divisor) => `(${dividend}) / ${divisor}`,
  fence: ' OFFSET 0',
  nativeHash: (columns) => `hashtextextended(CAST(ROW(${columns.join(', ')}) AS TEXT), 0)`,
};
