/**
 * What `syncproof watermark get|list|set|reset` print and write, and the records `set` and `reset`
 * write. Pure.
 */
import type { ExtractedFile } from '../lambdas/core/extraction';
import type { KeyEncoding, Position } from '../lambdas/core/keyset';
import { canonicalBinaryKey, timeMicros } from '../lambdas/core/keyset';
import { TIME_FORMS, canonicalTime, checkColumnValue, type ValueCheck } from '../lambdas/core/position-check';
import type { MappedType } from '../lambdas/core/source-types';
import type { ExtractionStats, WatermarkRecord, WatermarkRun } from '../lambdas/core/watermark';

/** The column types a position is checked against: the dataset's schema document (what its extraction uses). */
export interface PositionTypes {
  readonly cursor: { readonly name: string; readonly type: MappedType };
  /** In key order. */
  readonly keys: readonly { readonly name: string; readonly type: MappedType }[];
}

/**
 * `cursor 2024-05-01 10:00:00, key (42, a)`, or `none (…)` when there is no position. A binary key
 * value prints as the position holds it, `0x` and its bytes in hex (`key (0x00ff…)`).
 */
export function positionText(position: Position | undefined): string {
  if (!position) return 'none (the next run extracts from the beginning)';
  return `cursor ${position.cursor}, key (${position.key.join(', ')})`;
}

function zeroDatesText(zeroDates: Readonly<Record<string, number>>): string {
  const entries = Object.entries(zeroDates);
  return entries.length === 0 ? 'none' : entries.map(([column, n]) => `${column} ${n}`).join(', ');
}

/** The lines of `watermark get` (without the files of `--show-files`). */
export function formatWatermark(record: WatermarkRecord, where: string): string {
  const lines = [`watermark of dataset '${record.dataset}' in ${where}`];
  const field = (name: string, value: string | number) => lines.push(`  ${`${name}:`.padEnd(18)}${value}`);
  field('position', positionText(record.position));
  if (record.extracted) {
    const x = record.extracted;
    field('extracted to', `${positionText(x.position)} by extract-only run ${x.runId} at ${x.at} (${x.rows} rows in ${x.files} files; not loaded: --mode load-only loads them)`);
  }
  field('version', record.version);
  field('strategy', record.strategy);
  field('updated at', record.updatedAt);
  const run = record.lastRun;
  if (!run) {
    lines.push('last run: none recorded');
    return lines.join('\n');
  }
  lines.push(`last run ${run.runId} (${run.mode}): ${run.status}`);
  field('started at', run.startedAt);
  field('ended at', run.endedAt);
  const x = run.extraction;
  field('extracted', `${x.rows} rows in ${x.files} files, ${x.bytes} bytes`);
  field('null cursor rows', `${x.nullCursorRows}${x.nullCursorRows > 0 ? ' (never extracted)' : ''}`);
  field('zero dates', zeroDatesText(x.zeroDates));
  field('has more', x.hasMore ? 'yes (the run stopped at limit × maxChunks; the next run goes on)' : 'no');
  field('end', x.end ?? 'none (no rows with a cursor)');
  field('loaded rows', run.loadedRows);
  if (run.filesUri !== undefined) field('files', run.filesUri);
  if (run.note !== undefined) field('note', run.note);
  return lines.join('\n');
}

/** One line of `watermark list`. */
export function watermarkLine(record: WatermarkRecord, nameWidth: number): string {
  const run = record.lastRun;
  const last = run ? `${run.status} run ${run.runId}: ${run.extraction.rows} rows extracted, ${run.loadedRows} loaded` : 'no run recorded';
  return `${record.dataset.padEnd(nameWidth)}  v${String(record.version).padEnd(4)} ${positionText(record.position)}; ${last}; updated ${record.updatedAt}`;
}

/** The lines of `watermark list`: one a dataset, sorted by name, and a count. */
export function formatWatermarkList(records: readonly WatermarkRecord[], where: string): string {
  if (records.length === 0) return `no watermarks in ${where}: no dataset with a source has completed a run yet`;
  const width = Math.max(...records.map((r) => r.dataset.length));
  return [...records.map((r) => watermarkLine(r, width)), `${records.length} ${records.length === 1 ? 'watermark' : 'watermarks'} in ${where}`].join('\n');
}

/** The files of `--show-files`, one a line, with their rows. */
export function formatFiles(files: readonly ExtractedFile[], uri: string): string {
  if (files.length === 0) return `files of the last run (${uri}): none`;
  const width = Math.max(...files.map((f) => f.key.length));
  const rows = files.reduce((n, f) => n + f.rows, 0);
  return [
    `files of the last run (${uri}):`,
    ...files.map((f) => `  ${f.key.padEnd(width)}  ${String(f.rows).padStart(9)} rows  ${f.size} bytes  ETag ${f.etag}`),
    `  ${files.length} files, ${rows} rows`,
  ].join('\n');
}

/** Compares as integer cursors when both are whole numbers, else as date/time cursors. */
function cursorKind(cursor: string): 'integer' | 'time' | undefined {
  if (/^-?\d+$/.test(cursor)) return 'integer';
  try {
    timeMicros(cursor);
    return 'time';
  } catch {
    return undefined;
  }
}

/**
 * The position `set` writes, or the reason it is refused: the cursor is a whole number or a
 * date/time, of the same kind as the cursor it replaces; the key has as many values as the key
 * it replaces (the extraction refuses a position whose key has another length); and a value of a
 * binary key column (`hex` in `encoding`, the watermark's `keyEncoding`) is `0x` and its bytes in
 * hex, two digits a byte, either case (written in lower case). Without `encoding` (a watermark
 * written before it was recorded, or `--create`) a key is written as given, and the extraction
 * refuses a binary key value that is not `0x` + hex.
 */
export function checkPosition(
  given: string,
  key: readonly string[],
  current: Position | undefined,
  encoding?: readonly KeyEncoding[],
  types?: PositionTypes,
): { ok: true; position: Position } | { ok: false; message: string } {
  const checked: ValueCheck = types
    ? checkColumnValue(given, types.cursor.type)
    : /^-?\d+$/.test(given)
      ? { ok: true, text: given }
      : /^\d{4}-/.test(given)
        ? canonicalTime(given)
        : { ok: false, reason: `is neither a whole number (an id cursor) nor a date/time (${TIME_FORMS})` };
  if (!checked.ok) return { ok: false, message: `--cursor '${given}' ${checked.reason}${types ? `: the cursor column ${types.cursor.name} is ${types.cursor.type.redshift}` : ''}` };
  const cursor = checked.text;
  const kind = cursorKind(cursor);
  if (!kind) return { ok: false, message: `--cursor '${given}' is neither a whole number (an id cursor) nor a date/time (${TIME_FORMS})` };
  if (current) {
    const was = cursorKind(current.cursor);
    if (was && was !== kind) {
      return { ok: false, message: `--cursor '${cursor}' is ${kind === 'integer' ? 'a whole number' : 'a date/time'}, but the watermark's cursor is ${was === 'integer' ? 'a whole number' : 'a date/time'} ('${current.cursor}'); give a value of the same kind` };
    }
    if (key.length !== current.key.length) {
      return {
        ok: false,
        message: `the watermark's key has ${current.key.length} value${current.key.length === 1 ? '' : 's'} (${current.key.join(', ')}), --key gave ${key.length}; give --key once per key column, in key order`,
      };
    }
  }
  if (key.length === 0) {
    return { ok: false, message: 'give the key of the last row already in the warehouse with --key (once per key column, in key order): the next run starts strictly after (cursor, key)' };
  }
  if (encoding && encoding.length !== key.length) {
    return { ok: false, message: `the dataset's key has ${encoding.length} column${encoding.length === 1 ? '' : 's'}, --key gave ${key.length} value${key.length === 1 ? '' : 's'}; give --key once per key column, in key order` };
  }
  if (types && types.keys.length !== key.length) {
    const names = types.keys.map((k) => k.name).join(', ');
    return { ok: false, message: `the dataset's key is (${names}), --key gave ${key.length} value${key.length === 1 ? '' : 's'}; give --key once per key column, in key order` };
  }
  const written: string[] = [];
  for (let i = 0; i < key.length; i++) {
    const column = types?.keys[i];
    if (encoding?.[i] !== 'hex' && column?.type.rule !== 'bytes') {
      const value = column ? checkColumnValue(key[i]!, column.type) : { ok: true as const, text: key[i]! };
      if (!value.ok) return { ok: false, message: `--key '${key[i]}' ${value.reason}: key column ${i + 1} (${column!.name}) is ${column!.type.redshift}` };
      written.push(value.text);
      continue;
    }
    const hex = canonicalBinaryKey(key[i]!);
    if (hex === undefined) {
      return {
        ok: false,
        message: `--key '${key[i]}' is not a binary key value: key column ${i + 1} of the dataset is binary (BINARY, VARBINARY, BLOB, BIT or bytea), so give its bytes as 0x and two hex digits a byte (e.g. 0x00ff10)`,
      };
    }
    written.push(hex);
  }
  return { ok: true, position: { cursor, key: written } };
}

/** The record `watermark set` writes: the new position, version + 1; the last run kept, with a note. */
export function setRecord(current: WatermarkRecord | undefined, dataset: string, position: Position, now: string): WatermarkRecord {
  const note = `position set by hand (syncproof watermark set) at ${now}, from ${current?.position ? positionText(current.position) : 'none'}; the counts are those of run ${current?.lastRun?.runId ?? '(none)'}`;
  return {
    dataset,
    version: (current?.version ?? 0) + 1,
    position: { cursor: position.cursor, key: [...position.key] },
    ...(current?.keyEncoding ? { keyEncoding: [...current.keyEncoding] } : {}),
    strategy: 'keyset',
    ...(current?.lastRun ? { lastRun: { ...current.lastRun, note } } : {}),
    updatedAt: now,
  };
}

const ZERO_EXTRACTION: ExtractionStats = { rows: 0, files: 0, bytes: 0, nullCursorRows: 0, zeroDates: {}, hasMore: false, end: null };

/**
 * The record `watermark reset` writes: no position (the next run extracts from the beginning),
 * version + 1, the last run's every count zeroed and its status `RESET`; its run id and times are
 * those of the run whose counts were zeroed.
 */
export function resetRecord(current: WatermarkRecord, now: string): WatermarkRecord {
  const run = current.lastRun;
  const lastRun: WatermarkRun = {
    runId: run?.runId ?? '(none)',
    mode: run?.mode ?? 'reset',
    startedAt: run?.startedAt ?? now,
    endedAt: run?.endedAt ?? now,
    status: 'RESET',
    extraction: ZERO_EXTRACTION,
    loadedRows: 0,
    note: `reset by hand (syncproof watermark reset) at ${now}: position ${current.position ? `(${positionText(current.position)})` : 'none'} of version ${current.version} removed and the counts zeroed; the next run extracts the table from the beginning`,
  };
  return { dataset: current.dataset, version: current.version + 1, ...(current.keyEncoding ? { keyEncoding: [...current.keyEncoding] } : {}), strategy: 'keyset', lastRun, updatedAt: now };
}
