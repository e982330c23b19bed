/**
 * Source values given as text (what MySQL and PostgreSQL drivers hand over for DATETIME,
 * TIMESTAMP, DATE and DECIMAL) parsed into Parquet's physical integers by hand: no Date object,
 * no regular expression and no BigInt per value on the common paths, since these run once per
 * cell of an extraction. Pure; every refusal is a RangeError naming the value.
 */

/** Days since 1970-01-01 of 0001-01-01 and 9999-12-31, the range syncproof writes. */
export const MIN_DAY = -719162;
export const MAX_DAY = 2932896;
export const MIN_SECOND = MIN_DAY * 86400;
export const MAX_SECOND = MAX_DAY * 86400 + 86399;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** `width` ASCII digits at `at` as a number, or -1. */
function digits(s: string, at: number, width: number): number {
  let n = 0;
  for (let i = at; i < at + width; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `YYYY-MM-DD` at the start of `s` (years 0001–9999) → days since the epoch, or NaN. */
function dayAt(s: string): number {
  const y = digits(s, 0, 4);
  const m = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  if (y < 1 || m < 1 || m > 12 || d < 1 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || d > daysInMonth(y, m)) return NaN;
  return daysFromCivil(y, m, d);
}

/** `'YYYY-MM-DD'` → days since 1970-01-01. */
export function daysFromDateText(s: string): number {
  const day = s.length === 10 ? dayAt(s) : NaN;
  if (Number.isNaN(day)) throw new RangeError(`DATE value '${s}' is not a date YYYY-MM-DD between 0001-01-01 and 9999-12-31`);
  return day;
}

/** Result of {@link parseTimestampText}, kept in module state so that parsing allocates nothing. */
export const parsedTimestamp = {
  /** Seconds since the epoch of the digits as written (UTC reading, offset not applied). */
  seconds: 0,
  /** 0–999999. */
  micros: 0,
  /** The written UTC offset in seconds (0 when none or `Z`). */
  offsetSeconds: 0,
};

function badTimestamp(s: string, why: string): RangeError {
  return new RangeError(`TIMESTAMP value '${s}' ${why}`);
}

/**
 * Parses `YYYY-MM-DD[T| ]HH:MM:SS[.f…]` with an optional zone `Z`, `+HH`, `+HH:MM` or `+HHMM`
 * (or `-`) into {@link parsedTimestamp}. Fractions keep their microseconds exactly; digits
 * beyond the sixth must be zeros (never rounded). Years 0001–9999, hours 00–23, seconds 00–59.
 */
export function parseTimestampText(text: string): void {
  let s = text;
  if (s.length < 19 || s.charCodeAt(0) <= 32 || s.charCodeAt(s.length - 1) <= 32) s = s.trim();
  const day = s.length >= 19 ? dayAt(s) : NaN;
  const sep = s.charCodeAt(10);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (Number.isNaN(day) || (sep !== 84 && sep !== 32 && sep !== 116) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    throw badTimestamp(text, 'is not a timestamp YYYY-MM-DD HH:MM:SS[.ffffff][Z|±HH[:MM]] between years 0001 and 9999');
  }
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) throw badTimestamp(text, 'has a time of day outside 00:00:00–23:59:59');
  let i = 19;
  let micros = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    const start = i;
    for (; i < s.length; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (i - start < 6) micros = micros * 10 + d;
      else if (d !== 0) throw badTimestamp(text, 'has more than microsecond precision; Redshift keeps microseconds, round it at the source');
    }
    if (i === start) throw badTimestamp(text, 'has a decimal point without fractional digits');
    for (let k = i - start; k < 6; k++) micros *= 10;
  }
  let offset = 0;
  if (i < s.length) {
    const z = s.charCodeAt(i);
    if ((z === 90 || z === 122) && i === s.length - 1) offset = 0;
    else if (z === 43 || z === 45) {
      const rest = s.length - i - 1;
      const oh = digits(s, i + 1, 2);
      const om = rest === 2 ? 0 : rest === 5 && s.charCodeAt(i + 3) === 58 ? digits(s, i + 4, 2) : rest === 4 ? digits(s, i + 3, 2) : -1;
      if (oh < 0 || om < 0 || oh > 15 || om > 59) throw badTimestamp(text, 'has an unreadable UTC offset (use Z, ±HH, ±HH:MM or ±HHMM)');
      offset = (z === 45 ? -1 : 1) * (oh * 3600 + om * 60);
    } else throw badTimestamp(text, 'has trailing text after the time');
  }
  parsedTimestamp.seconds = day * 86400 + h * 3600 + mi * 60 + sec;
  parsedTimestamp.micros = micros;
  parsedTimestamp.offsetSeconds = offset;
}

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The unscaled integer of a plain decimal text (`-123.45`) at `scale`, when it is exact as a
 * double (at most 15 digits once scaled) and fits `precision`; NaN when the text needs the exact
 * (BigInt) path: more digits, an exponent, whitespace, too many fractional digits or an overflow,
 * which that path then accepts or refuses with its own message.
 */
export function fastUnscaled(s: string, precision: number, scale: number): number {
  const length = s.length;
  let i = 0;
  let negative = false;
  const first = s.charCodeAt(0);
  if (first === 45 || first === 43) {
    negative = first === 45;
    i = 1;
  }
  let n = 0;
  let intDigits = 0;
  let any = false;
  for (; i < length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    any = true;
    if (n !== 0 || d !== 0) intDigits++;
    n = n * 10 + d;
  }
  let fracDigits = 0;
  if (i < length && s.charCodeAt(i) === 46) {
    for (i++; i < length; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      any = true;
      fracDigits++;
      n = n * 10 + d;
    }
  }
  if (i !== length || !any || fracDigits > scale || intDigits > precision - scale || intDigits + scale > 15) return NaN;
  n *= POW10[scale - fracDigits]!;
  return negative && n !== 0 ? -n : n;
}

/**
 * A decimal value (string, number or bigint: the value itself, not its unscaled integer) → its
 * unscaled integer at `scale`, exactly; the path for what {@link fastUnscaled} leaves out.
 */
export function unscaledFromValue(v: unknown, precision: number, scale: number): bigint {
  let unscaled: bigint;
  if (typeof v === 'bigint') {
    unscaled = v * 10n ** BigInt(scale);
  } else {
    const text = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v).trim();
    const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m || (m[2] ?? '') + (m[3] ?? '') === '') throw new RangeError(`'${String(v)}' is not a decimal number`);
    const frac = m[3] ?? '';
    const shift = Number(m[4] ?? 0) - frac.length + scale;
    let digits = `${m[2] ?? ''}${frac}`.replace(/^0+(?=\d)/, '');
    if (shift >= 0) digits += '0'.repeat(shift);
    else {
      const dropped = digits.slice(shift);
      if (/[^0]/.test(dropped.padStart(-shift, '0'))) {
        throw new RangeError(`${String(v)} has more than ${scale} fractional digits for DECIMAL(${precision},${scale})`);
      }
      digits = digits.slice(0, shift) || '0';
    }
    unscaled = BigInt(digits) * (m[1] === '-' ? -1n : 1n);
  }
  const abs = unscaled < 0n ? -unscaled : unscaled;
  if (abs >= 10n ** BigInt(precision)) throw new RangeError(`${String(v)} does not fit DECIMAL(${precision},${scale})`);
  return unscaled;
}
