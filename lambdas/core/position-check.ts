/**
 * Values an operator types for a keyset position (`watermark set --cursor/--key`): checked against
 * the column types the extraction uses (the dataset's persisted schema document), so a value the
 * source would refuse (`2026-02-30`, `abc` for a BIGINT) is refused when it is set, never by a run
 * after rows were re-read (issue #14 item 6). Pure.
 */
import type { MappedType } from './source-types';

/** The date/time forms accepted, for messages. */
export const TIME_FORMS =
  "'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC), 'YYYY-MM-DD', or ISO 8601 with a zone ('2026-02-28T12:00:00Z', '2026-02-28T14:00:00+02:00')";

export type ValueCheck = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function daysIn(year: number, month: number): number {
  return [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/**
 * A date/time as the source compares it: `YYYY-MM-DD HH:MM:SS[.ffffff]` (or `YYYY-MM-DD`), every
 * field within the calendar; an ISO 8601 value with `Z` or an offset is converted to UTC (without one, like the
 * space form, it is UTC). Refuses
 * anything else, saying which forms are accepted.
 */
export function canonicalTime(text: string): ValueCheck {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:([ T])(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  if (!m) return { ok: false, reason: `is not a date/time in an accepted form: ${TIME_FORMS}` };
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[5] ?? 0), Number(m[6] ?? 0), Number(m[7] ?? 0)];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return { ok: false, reason: `is not a calendar date (${m[1]}-${m[2]} has ${month >= 1 && month <= 12 ? daysIn(year, month) : 'no'} days${month < 1 || month > 12 ? ': months are 01–12' : ''})` };
  }
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, reason: 'is not a time of day (hours 00–23, minutes and seconds 00–59)' };
  if (m[4] === undefined) return { ok: true, text: `${m[1]}-${m[2]}-${m[3]}` };
  const fraction = m[8] === undefined ? '' : `.${m[8]}`;
  const zone = m[9];
  if (zone === undefined || zone === 'Z' || /^[+-]00:?00$/.test(zone)) {
    return { ok: true, text: `${m[1]}-${m[2]}-${m[3]} ${m[5]}:${m[6]}:${m[7]}${fraction}` };
  }
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offsetMinutes = (Number(z[2]) * 60 + Number(z[3])) * (z[1] === '+' ? 1 : -1);
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000);
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) return { ok: false, reason: 'is out of the years 0001–9999 in UTC' };
  const date = `${pad(utc.getUTCFullYear(), 4)}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())}`;
  return { ok: true, text: `${date} ${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())}${fraction}` };
}

const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  SMALLINT: [-(2n ** 15n), 2n ** 15n - 1n],
  INTEGER: [-(2n ** 31n), 2n ** 31n - 1n],
  BIGINT: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** A whole number within `redshift`'s range (SMALLINT, INTEGER, BIGINT; other types: BIGINT's). */
function checkInteger(text: string, redshift: string): ValueCheck {
  if (!/^-?\d+$/.test(text)) return { ok: false, reason: `is not a whole number` };
  const [low, high] = INTEGER_RANGES[redshift.toUpperCase()] ?? INTEGER_RANGES.BIGINT!;
  const n = BigInt(text);
  if (n < low || n > high) return { ok: false, reason: `is out of the range of ${redshift} (${low} to ${high})` };
  return { ok: true, text: n.toString() };
}

/**
 * `text` as a value of a column of `type` (its mapped type in the schema document), in the form the
 * position keeps: whole numbers within their type's range, decimals, calendar-checked date/times
 * (ISO forms converted to UTC), booleans; text and binary values as given (binary keys are checked
 * by their hex encoding elsewhere).
 */
export function checkColumnValue(text: string, type: MappedType): ValueCheck {
  switch (type.rule) {
    case 'int':
    case 'bigint':
      return checkInteger(text, type.redshift);
    case 'decimal': {
      if (!/^-?\d+(\.\d+)?$/.test(text)) return { ok: false, reason: `is not a decimal number` };
      const scale = type.parquet.scale ?? 0;
      const fraction = text.split('.')[1] ?? '';
      if (fraction.length > scale) return { ok: false, reason: `has more than ${scale} decimal places` };
      const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+(?=\d)/, '');
      if (type.parquet.precision !== undefined && digits.length - fraction.length > type.parquet.precision - scale) {
        return { ok: false, reason: 'is out of its range' };
      }
      return { ok: true, text };
    }
    case 'float':
      return /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) ? { ok: true, text } : { ok: false, reason: `is not a number` };
    case 'bool':
    case 'bit':
      return /^(true|false|0|1)$/i.test(text) ? { ok: true, text } : { ok: false, reason: `is not a boolean (true, false, 1 or 0)` };
    case 'date':
    case 'timestamp':
      return canonicalTime(text);
    default:
      return { ok: true, text };
  }
}
