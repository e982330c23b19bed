/**
 * The warehouse column types a file dataset may declare in `columns`, checked against Redshift's
 * limits and written in one canonical spelling (issue #14 item 9). Pure.
 */
import { MAX_DECIMAL_PRECISION, MAX_VARBYTE_BYTES, MAX_VARCHAR_BYTES } from './source-types';

/** Redshift's longest CHAR, in bytes. */
export const MAX_CHAR_BYTES = 4096;

/** The accepted types, for messages. */
export const COLUMN_TYPES_TEXT =
  `SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, BOOLEAN, DATE, TIMESTAMP, TIMESTAMPTZ, VARCHAR(n ≤ ${MAX_VARCHAR_BYTES}), ` +
  `CHAR(n ≤ ${MAX_CHAR_BYTES}), DECIMAL(p ≤ ${MAX_DECIMAL_PRECISION}, s ≤ p), VARBYTE(n ≤ ${MAX_VARBYTE_BYTES}) or SUPER (any case)`;

const PLAIN: Readonly<Record<string, string>> = {
  SMALLINT: 'SMALLINT',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  REAL: 'REAL',
  'DOUBLE PRECISION': 'DOUBLE PRECISION',
  BOOLEAN: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMP',
  TIMESTAMPTZ: 'TIMESTAMPTZ',
  SUPER: 'SUPER',
};

/** `text` as a Redshift column type in canonical spelling (`varchar(32)` → `VARCHAR(32)`), or why it is refused. */
export function parseColumnType(text: string): { ok: true; type: string } | { ok: false; reason: string } {
  const t = text.trim().replace(/\s+/g, ' ').toUpperCase();
  if (PLAIN[t]) return { ok: true, type: PLAIN[t] };
  const sized = /^(VARCHAR|CHAR|VARBYTE) ?\( ?(\d{1,9}) ?\)$/.exec(t);
  if (sized) {
    const [kind, n] = [sized[1]!, Number(sized[2])];
    const max = kind === 'VARCHAR' ? MAX_VARCHAR_BYTES : kind === 'CHAR' ? MAX_CHAR_BYTES : MAX_VARBYTE_BYTES;
    if (n < 1 || n > max) return { ok: false, reason: `${kind}(${n}) is out of Redshift's range: ${kind}(n) takes 1 to ${max}` };
    return { ok: true, type: `${kind}(${n})` };
  }
  const decimal = /^(?:DECIMAL|NUMERIC) ?\( ?(\d{1,9}) ?, ?(\d{1,9}) ?\)$/.exec(t);
  if (decimal) {
    const [p, s] = [Number(decimal[1]), Number(decimal[2])];
    if (p < 1 || p > MAX_DECIMAL_PRECISION) return { ok: false, reason: `DECIMAL(${p},${s}) is out of Redshift's range: the precision takes 1 to ${MAX_DECIMAL_PRECISION}` };
    if (s > p) return { ok: false, reason: `DECIMAL(${p},${s}) has a scale larger than its precision` };
    return { ok: true, type: `DECIMAL(${p},${s})` };
  }
  return { ok: false, reason: `must be one of ${COLUMN_TYPES_TEXT}` };
}
