/**
 * Content comparison in Redshift (see ./dialect.ts): MD5(), STRTOL(hex, 16), sums over
 * DECIMAL(38,0) (exact), no cast of text columns (Redshift's bare VARCHAR is VARCHAR(256)).
 * The local warehouse runs the same SQL through lambdas/adapters/postgres-sql.ts, with `strtol`
 * and `to_hex(bytea)` created as SQL functions (lambdas/adapters/postgres-copy.ts SYSTEM_DDL).
 */
import type { ComparedType } from '../model';
import { floatHashText, type NativeColumn, type SqlDialect } from './dialect';
import { postgresDialect } from './postgres';

export const redshiftDialect: SqlDialect = {
  name: 'redshift',
  quoteIdent: postgresDialect.quoteIdent,
  literal: postgresDialect.literal,
  text(expr: string, type: ComparedType, native: NativeColumn): string {
    switch (type.kind) {
      case 'integer':
        return /^bool/.test(native.type) ? postgresDialect.text(expr, type, native) : `CAST(${expr} AS VARCHAR(40))`;
      case 'decimal': {
        const held = native.scale;
        if (held !== undefined && held < type.scale) {
          // Compared at more digits than the column holds (the other side is finer, or of undeclared
          // scale): its own text, zero-padded; a cast to DECIMAL(38, scale) would overflow its integer digits.
          const pad = '0'.repeat(type.scale - held);
          return `CAST(${expr} AS VARCHAR(41)) || '${held === 0 ? '.' : ''}${pad}'`;
        }
        return `CAST(CAST(${expr} AS DECIMAL(38,${type.scale})) AS VARCHAR(41))`;
      }
      case 'float': {
        // Redshift's floats hold NaN and ±Infinity, which the LOG/ROUND arithmetic cannot cast to BIGINT: their names, as PostgreSQL's side writes them.
        const x = `CAST(${expr} AS DOUBLE PRECISION)`;
        return `CASE WHEN ${x} IN ('NaN', 'Infinity', '-Infinity') THEN CAST(${x} AS VARCHAR(24)) ELSE ${floatHashText(this, x, type.digits, { log10: 'LOG', bigint: 'BIGINT', text: 'VARCHAR(24)' })} END`;
      }
      case 'boolean':
      case 'date':
      case 'timestamp':
        // The same SQL as PostgreSQL's (CASE, TO_CHAR with US, AT TIME ZONE).
        return postgresDialect.text(expr, type, native);
      case 'text':
        return expr;
      case 'binary':
        return `TO_HEX(${expr})`;
      case 'json':
        // JSON_SERIALIZE writes SQL NULL as 'null': NULL stays NULL, as on every engine.
        return /super|jsonb/.test(native.type) ? `CASE WHEN ${expr} IS NULL THEN NULL ELSE JSON_SERIALIZE(${expr}) END` : expr;
    }
  },
  floatText: (expr) => `CAST(CAST(${expr} AS DOUBLE PRECISION) AS VARCHAR(32))`,
  concat: (parts) => parts.join(' || '),
  md5: (expr) => `MD5(${expr})`,
  hex32: (hex, start) => `STRTOL(SUBSTRING(${hex}, ${start}, 8), 16)`,
  sumText: (expr) => `CAST(SUM(CAST(${expr} AS DECIMAL(38,0))) AS VARCHAR(40))`,
  intDiv: (dividend, divisor) => `(${dividend}) / ${divisor}`,
  fence: ' OFFSET 0',
};
