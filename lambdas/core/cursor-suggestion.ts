/**
 * Which column of a source table to suggest as a dataset's cursor (`syncproof source tables`,
 * `syncproof datasets add` without `--cursor`). A heuristic, said as one: the operator decides.
 * Pure.
 */
import type { SourceColumn } from './source';

/** Date/time types with a time of day (a DATE cursor would re-read a whole day's rows every run). */
const TIMESTAMP_TYPES = new Set(['datetime', 'timestamp', 'timestamp without time zone', 'timestamp with time zone']);
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/**
 * Names of update times, best first (case and `_` ignored): `updated_at`, `modified`,
 * `last_modified`, `changed_at`, `updated`, and their common variants.
 */
const UPDATE_TIME_NAMES = [
  'updatedat',
  'modifiedat',
  'lastmodified',
  'lastmodifiedat',
  'lastupdated',
  'lastupdatedat',
  'changedat',
  'modified',
  'updated',
  'updatedon',
  'modifiedon',
  'updatetime',
  'modifytime',
  'datemodified',
  'modifieddate',
  'updateddate',
  'lastchanged',
];

type Column = Pick<SourceColumn, 'name' | 'dataType' | 'nullable'>;

export interface CursorSuggestion {
  /** The column to suggest; undefined when there is none. */
  readonly column?: string;
  /** Why this column (or why none), for the operator. */
  readonly reason: string;
}

const folded = (name: string) => name.toLowerCase().replace(/_/g, '');

function nullableNote(c: Column): string {
  return c.nullable ? '; it allows NULL, and rows whose cursor is NULL are never extracted' : '';
}

/** NOT NULL columns first, then table order (the sort is stable). */
function notNullFirst<T extends Column>(columns: readonly T[]): T[] {
  return [...columns].sort((a, b) => Number(a.nullable) - Number(b.nullable));
}

/**
 * Suggests a cursor: a date/time column named like an update time (`updated_at`, `modified`,
 * `last_modified`, `changed_at`, `updated`, …; NOT NULL preferred), else any date/time column
 * (NOT NULL preferred, then table order), else a one-column integer primary key (it looks
 * auto-increment: it catches inserts but not updates), else none.
 */
export function suggestCursor(columns: readonly Column[], primaryKey: readonly string[]): CursorSuggestion {
  const timestamps = columns.filter((c) => TIMESTAMP_TYPES.has(c.dataType));
  const named = timestamps
    .map((c) => ({ c, rank: UPDATE_TIME_NAMES.indexOf(folded(c.name)) }))
    .filter((x) => x.rank >= 0)
    .sort((a, b) => Number(a.c.nullable) - Number(b.c.nullable) || a.rank - b.rank)
    .map((x) => x.c);
  if (named[0]) return { column: named[0].name, reason: `a ${named[0].dataType} column named like an update time${nullableNote(named[0])}` };
  const anyTime = notNullFirst(timestamps)[0];
  if (anyTime) {
    return {
      column: anyTime.name,
      reason: `the ${timestamps.length === 1 ? 'only' : 'first'} ${anyTime.nullable ? '' : 'NOT NULL '}${anyTime.dataType} column; make sure it changes on every update, or updates are missed${nullableNote(anyTime)}`,
    };
  }
  const key = primaryKey.length === 1 ? columns.find((c) => c.name === primaryKey[0]) : undefined;
  if (key && INTEGER_TYPES.has(key.dataType)) {
    return { column: key.name, reason: 'an integer primary key (looks auto-increment): new rows are extracted, updates to existing rows are not' };
  }
  return { reason: 'no date/time column and no one-column integer primary key; add an updated_at column, or pass the cursor yourself' };
}
