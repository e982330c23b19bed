/**
 * How `syncproof sample` prints rows: a table (NULL, binary and long text shown readably), JSON
 * (values as the warehouse returned them, binary as `0x…`), or CSV (RFC 4180).
 */
import type { Row, SqlValue } from '../lambdas/core/ports';
import { textTable } from './status-format';

/** Output formats of `sample`. */
export const SAMPLE_FORMATS = ['table', 'json', 'csv'] as const;
export type SampleFormat = (typeof SAMPLE_FORMATS)[number];

/** A table cell's longest text; longer values end in `…(N chars)`. */
const MAX_CELL = 60;

/** Whether a column type holds bytes (PostgreSQL `bytea`, Redshift `VARBYTE`/`BINARY VARYING`). */
export function isBinaryType(type: string | undefined): boolean {
  return type !== undefined && /bytea|varbyte|binary/i.test(type);
}

/**
 * A value with binary columns as `0x` + hex: PostgreSQL returns bytea as `\x…` text, Redshift
 * VARBYTE as hex text; either becomes `0x…`.
 */
export function readableValue(value: SqlValue, binary: boolean): SqlValue {
  if (!binary || typeof value !== 'string') return value;
  const hex = value.startsWith('\\x') ? value.slice(2) : value;
  return /^[0-9a-f]*$/i.test(hex) ? `0x${hex.toLowerCase()}` : value;
}

function cellText(value: SqlValue): string {
  if (value === null) return 'NULL';
  const text = String(value).replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t');
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…(${text.length} chars)` : text;
}

/** One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled); NULL is an empty field. */
export function csvField(value: SqlValue): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows in `format`, columns in `columns` order. */
export function formatRows(columns: readonly string[], rows: readonly Row[], format: SampleFormat): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  if (format === 'csv') return [columns, ...rows.map((r) => columns.map((c) => r[c] ?? null))].map((cells) => cells.map((v) => csvField(v as SqlValue)).join(',')).join('\r\n');
  if (rows.length === 0) return `${columns.join('  ')}\n(no rows)`;
  return textTable(columns, rows.map((r) => columns.map((c) => cellText(r[c] ?? null))));
}
