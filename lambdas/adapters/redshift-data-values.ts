/**
 * Values across the Redshift Data API: `:name` parameters and ClientTokens out, Field unions in.
 * Used by RedshiftDataWarehouse; pure, no SDK calls.
 */
import { createHash } from 'node:crypto';
import type { ColumnMetadata, Field, SqlParameter } from '@aws-sdk/client-redshift-data';
import { TerminalError } from '../core/errors';
import type { SqlValue } from '../core/ports';

/**
 * `:name` parameters → Data API parameters (string values). `null` and `''` cannot be sent (the
 * API requires a value of at least one character), so they are written into the SQL. Only names
 * that occur in code (not in literals, quoted identifiers or comments) are sent; a name without
 * a value is an error, as in the Postgres-family adapters.
 */
export function bindDataApiParameters(sql: string, params: Record<string, SqlValue>): { sql: string; parameters: SqlParameter[] } {
  const parameters: SqlParameter[] = [];
  const sent = new Set<string>();
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    let end = i + 1;
    if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'" && !/[\w$]/.test(sql[i - 1] ?? ''))) {
      const escapes = ch !== "'";
      end = escapes ? i + 2 : i + 1;
      for (; end < n; end++) {
        if (escapes && sql[end] === '\\') end++;
        else if (sql[end] === "'") {
          if (sql[end + 1] === "'") end++;
          else break;
        }
      }
      end = Math.min(n, end + 1);
    } else if (ch === '"') {
      for (end = i + 1; end < n; end++) {
        if (sql[end] === '"') {
          if (sql[end + 1] === '"') end++;
          else break;
        }
      }
      end = Math.min(n, end + 1);
    } else if (ch === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      end = newline < 0 ? n : newline;
    } else if (ch === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close < 0 ? n : close + 2;
    } else if (ch === ':' && sql[i - 1] !== ':') {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1));
      if (m) {
        const name = m[0];
        if (!Object.prototype.hasOwnProperty.call(params, name)) {
          throw new TerminalError(`SQL parameter :${name} has no value; pass it in params`);
        }
        const value = params[name] ?? null;
        if (value === null) out += 'NULL';
        else if (value === '') out += "''";
        else {
          out += `:${name}`;
          if (!sent.has(name)) {
            sent.add(name);
            parameters.push({ name, value: String(value) });
          }
        }
        i += 1 + name.length;
        continue;
      }
    }
    out += sql.slice(i, end);
    i = end;
  }
  return { sql: out, parameters };
}

const NUMERIC_TYPES = new Set(['numeric', 'decimal']);
const TIMESTAMP_TYPES = new Set(['timestamp', 'timestamptz', 'timestamp without time zone', 'timestamp with time zone']);

/**
 * One Data API field → SqlValue: long and double as numbers, booleans, NUMERIC/DECIMAL text as a
 * number when exact in a double (else its text), TIMESTAMP/TIMESTAMPTZ text as ISO-8601 UTC (as
 * the Postgres-family adapters return them), binary as base64, any other text unchanged.
 */
export function fieldValue(field: Field, column: ColumnMetadata | undefined): SqlValue {
  if (field.isNull) return null;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.stringValue !== undefined) {
    const type = (column?.typeName ?? '').toLowerCase();
    if (NUMERIC_TYPES.has(type)) return parseNumeric(field.stringValue);
    if (TIMESTAMP_TYPES.has(type)) return isoFromRedshiftTimestamp(field.stringValue);
    return field.stringValue;
  }
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  return null;
}

/** Decimal text → number when at most 15 significant digits (exact as a double), else the text. */
function parseNumeric(text: string): number | string {
  if (!/^-?\d+(?:\.\d+)?$/.test(text)) return text;
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
  return digits.length <= 15 ? Number(text) : text;
}

const REDSHIFT_TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?)?$/;

/**
 * Redshift's timestamp text (`YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]`) → `YYYY-MM-DDTHH:MM:SS.sss[sss]Z`:
 * 3 fractional digits, 6 when sub-millisecond, so millisecond values equal Date#toISOString().
 * A TIMESTAMP without zone is read as UTC. Any other text (BC dates, `infinity`) is returned as is.
 */
export function isoFromRedshiftTimestamp(text: string): string {
  const m = REDSHIFT_TIMESTAMP.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh = '0', om = '0'] = m;
  const digits = frac.length <= 3 ? frac.padEnd(3, '0') : frac.padEnd(6, '0');
  const offsetMinutes = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  if (offsetMinutes === 0) return `${y}-${mo}-${d}T${h}:${mi}:${s}.${digits}Z`;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMinutes * 60_000;
  return `${new Date(utc).toISOString().slice(0, 19)}.${digits}Z`;
}

/** ClientToken maximum length in the Data API. */
const MAX_CLIENT_TOKEN_LENGTH = 64;

/**
 * `clientToken` made unique per batch and generation, at most 64 characters (the Data API's
 * limit): its first 31 characters, `-`, and 32 hex digits of a SHA-256 over the token, the
 * statements and, from generation 1 on, the generation (generation 0 keeps the digest of
 * token and statements alone).
 */
export function dataApiClientToken(clientToken: string, statements: readonly string[], generation = 0): string {
  const hash = createHash('sha256').update(clientToken).update('\u0000');
  for (const s of statements) hash.update(s).update('\u0000');
  if (generation > 0) hash.update(`generation ${generation}`);
  const suffix = hash.digest('hex').slice(0, 32);
  const prefix = clientToken.slice(0, MAX_CLIENT_TOKEN_LENGTH - suffix.length - 1);
  return prefix ? `${prefix}-${suffix}` : suffix;
}
