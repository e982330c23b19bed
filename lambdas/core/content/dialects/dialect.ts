/**
 * What a SQL dialect of content comparison provides (one file per engine beside this one), and the
 * queries built from it (shared: {@link segmentSumsSql}, {@link segmentRowsSql},
 * {@link keyBoundsSql}). Each dialect computes, in SQL, exactly the text normalize.ts computes in
 * JavaScript, so sums agree across engines. Pure.
 */
import { NULL_FIELD } from '../normalize';
import type { ComparedColumn, ComparedType, ComparisonPlan, RowFilter, Segment } from '../model';

/** A column as the side's catalog declares it. */
export interface NativeColumn {
  readonly name: string;
  /** The catalog's type name, lowercase (`timestamp with time zone`, `tinyint(1)`, `numeric`, …). */
  readonly type: string;
  /** The catalog's scale of a numeric column (0 for integers), where it declares one. */
  readonly scale?: number;
}

export interface SqlDialect {
  readonly name: 'postgres' | 'redshift' | 'mysql' | 'sqlite';
  quoteIdent(name: string): string;
  /** A string literal. */
  literal(text: string): string;
  /** Normalized text of the column expression `expr` (NULL stays NULL), under `type`. */
  text(expr: string, type: ComparedType, native: NativeColumn): string;
  /** A float column's value as text at full precision (fetched rows; compared with the tolerance). */
  floatText(expr: string): string;
  /** Concatenation of text expressions (none NULL). */
  concat(parts: readonly string[]): string;
  /** MD5 of a text expression as 32 lowercase hex digits (of its UTF-8 bytes). */
  md5(expr: string): string;
  /** The unsigned 32-bit integer of 8 hex digits of `hexExpr` from `start` (1-based). */
  hex32(hexExpr: string, start: 1 | 9): string;
  /** The exact SUM of an integer expression, as text (never wraps). */
  sumText(expr: string): string;
  /** Integer division of two integer expressions (both non-negative here), truncating. */
  intDiv(dividend: string, divisor: string): string;
  /**
   * Appended to a subquery whose outputs the outer query reads more than once (the row hash's two
   * halves), so the engine computes them once per row instead of inlining the expression into
   * each reference (PostgreSQL and SQLite flatten subqueries: the MD5 and every normalization
   * ran twice per row).
   */
  readonly fence: string;
  /**
   * The same-engine fast path (model.ts NativeHashing), where the engine has one: a signed 64-bit
   * hash of the columns' own text output (`columns`: quoted column expressions).
   */
  nativeHash?(columns: readonly string[]): string;
  /**
   * MD5 (hex) of the canonical row of `columns` in one call, where the engine computes it faster
   * that way (SQLite: one JavaScript call a row instead of one per value); the same text as
   * `md5` over the canonical concatenation of each column's `text`.
   */
  canonicalMd5?(columns: readonly { readonly expr: string; readonly type: ComparedType }[]): string;
}

/** Where a side's table is and how its compared columns are declared there. */
export interface SqlTable {
  /** The table, quoted (`"s"."t"`, `` `db`.`t` ``). */
  readonly sql: string;
  /** Native columns by name (the side's names). */
  readonly columns: ReadonlyMap<string, NativeColumn>;
}

function nativeOf(table: SqlTable, name: string): NativeColumn {
  const native = table.columns.get(name);
  if (!native) throw new Error(`column ${name} is not in the table`);
  return native;
}

function sideName(column: ComparedColumn | RowFilter, side: 'a' | 'b'): string {
  return side === 'a' ? column.a : column.b;
}

/** Kinds whose normalized text never holds `~` or `|`: escaping them is a no-op, so SQL skips it. */
const PLAIN_KINDS: ReadonlySet<ComparedType['kind']> = new Set(['integer', 'decimal', 'float', 'boolean', 'date', 'timestamp', 'binary']);

/** The escaped field of one normalized value in the canonical row string (normalize.ts canonicalRow). */
function field(textExpr: string, type: ComparedType): string {
  return PLAIN_KINDS.has(type.kind) ? `COALESCE(${textExpr}, '${NULL_FIELD}')` : `COALESCE(REPLACE(REPLACE(${textExpr}, '~', '~~'), '|', '~p'), '${NULL_FIELD}')`;
}

/** MD5 (hex) of the canonical row string of `columns` on `side`. */
function canonicalMd5(d: SqlDialect, table: SqlTable, columns: readonly ComparedColumn[], side: 'a' | 'b'): string {
  if (d.canonicalMd5) return d.canonicalMd5(columns.map((c) => ({ expr: d.quoteIdent(sideName(c, side)), type: c.type })));
  return d.md5(canonical(d, table, columns, side));
}

function canonical(d: SqlDialect, table: SqlTable, columns: readonly ComparedColumn[], side: 'a' | 'b'): string {
  const parts: string[] = [];
  columns.forEach((c, i) => {
    if (i > 0) parts.push("'|'");
    const name = sideName(c, side);
    parts.push(field(d.text(d.quoteIdent(name), c.type, nativeOf(table, name)), c.type));
  });
  return parts.length === 1 ? parts[0]! : d.concat(parts);
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

function boundLiteral(d: SqlDialect, type: ComparedType, value: string): string {
  if (type.kind === 'integer' || type.kind === 'decimal' || type.kind === 'float') {
    if (!NUMBER.test(value)) throw new Error(`not a number: ${value}`);
    return value;
  }
  return d.literal(value);
}

/** WHERE conditions of a segment (range only; hash is filtered on the key hash) and of the filter. */
function conditions(d: SqlDialect, plan: ComparisonPlan, side: 'a' | 'b', segment: Segment, filter: RowFilter | undefined): string[] {
  const where: string[] = [];
  if (segment.kind === 'null-key') where.push(`${d.quoteIdent(sideName(plan.key[0]!, side))} IS NULL`);
  if (segment.kind === 'range') {
    const key = d.quoteIdent(sideName(plan.key[0]!, side));
    if (segment.lo !== undefined) where.push(`${key} >= ${intLiteral(segment.lo)}`);
    if (segment.hi !== undefined) where.push(`${key} < ${intLiteral(segment.hi)}`);
  }
  if (filter) {
    const col = d.quoteIdent(sideName(filter, side));
    if (filter.from !== undefined) where.push(`${col} >= ${boundLiteral(d, filter.type, filter.from)}`);
    if (filter.to !== undefined) where.push(`${col} <= ${boundLiteral(d, filter.type, filter.to)}`);
  }
  return where;
}

function intLiteral(value: string): string {
  if (!INTEGER.test(value)) throw new Error(`not an integer: ${value}`);
  return value;
}

function whereSql(where: readonly string[]): string {
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

function nativeHashOf(d: SqlDialect, columns: readonly ComparedColumn[], side: 'a' | 'b'): string {
  if (!d.nativeHash) throw new Error(`the ${d.name} dialect has no native hash`);
  return d.nativeHash(columns.map((c) => d.quoteIdent(sideName(c, side))));
}

/** The key hash of hash buckets: unsigned 32 bits (portable: of the canonical key's MD5; native: the low bits of the native hash). */
function keyHashSql(d: SqlDialect, table: SqlTable, plan: ComparisonPlan, side: 'a' | 'b'): string {
  if (plan.hashing === 'native') return `(${nativeHashOf(d, plan.key, side)} & 4294967295)`;
  return d.hex32(canonicalMd5(d, table, plan.key, side), 1);
}

/**
 * One query: per child of `parent`, the row count and the exact sums of the row hash halves
 * (columns `b` child index or bucket, `n`, `sh`, `sl`). Hash children: `b` is the key hash modulo
 * the children's modulus (child index = (b − residue) / parent modulus). Range children: `b` is
 * the child index.
 */
export function segmentSumsSql(
  d: SqlDialect,
  table: SqlTable,
  plan: ComparisonPlan,
  side: 'a' | 'b',
  parent: Segment,
  children: readonly Segment[],
  filter?: RowFilter,
): string {
  const native = plan.hashing === 'native';
  const row = native ? nativeHashOf(d, [...plan.key, ...plan.columns], side) : canonicalMd5(d, table, [...plan.key, ...plan.columns], side);
  // Portable: the two unsigned 32-bit halves of the MD5; native: the signed 64-bit hash (its sum in `sh`, `sl` 0).
  const halves = native ? 'h AS hi, 0 AS lo' : `${d.hex32('h', 1)} AS hi, ${d.hex32('h', 9)} AS lo`;
  const where = conditions(d, plan, side, parent, filter);
  let inner: string;
  let outer: string;
  if (parent.kind === 'hash') {
    const child = children[0];
    if (!child || child.kind !== 'hash') throw new Error('hash children expected');
    const kh = keyHashSql(d, table, plan, side);
    // The parent's bucket is filtered inside the fenced subquery, so only its rows are hashed.
    if (parent.modulus > 1) where.push(`${kh} % ${parent.modulus} = ${parent.residue}`);
    inner = `SELECT ${kh} AS kh, ${row} AS h FROM ${table.sql}${whereSql(where)}${d.fence}`;
    outer = `SELECT kh % ${child.modulus} AS b, ${halves} FROM (${inner}) s0`;
  } else {
    const key = d.quoteIdent(sideName(plan.key[0]!, side));
    inner = `SELECT ${rangeChildIndex(d, key, children)} AS b, ${row} AS h FROM ${table.sql}${whereSql(where)}${d.fence}`;
    outer = `SELECT b, ${halves} FROM (${inner}) s0`;
  }
  return `SELECT b, COUNT(*) AS n, ${d.sumText('hi')} AS sh, ${d.sumText('lo')} AS sl FROM (${outer}) s1 GROUP BY b`;
}

/**
 * The child index of a row of the range parent `children` split (splitSegment: equal steps from
 * the first child's lower bound, the last one possibly shorter): one integer division per row
 * (`(key − lo) / step`), whatever the number of children; a CASE chain where the steps are uneven.
 * The caller's WHERE holds the parent's bounds, so the index lies in [0, children).
 */
function rangeChildIndex(d: SqlDialect, key: string, children: readonly Segment[]): string {
  const ranges = children.map((c) => {
    if (c.kind !== 'range' || c.lo === undefined) throw new Error('range children with lower bounds expected');
    return { lo: BigInt(intLiteral(c.lo)), hi: c.hi === undefined ? undefined : BigInt(intLiteral(c.hi)) };
  });
  const first = ranges[0]!;
  const step = first.hi === undefined ? undefined : first.hi - first.lo;
  const even = step !== undefined && step > 0n && ranges.every((r, i) => r.lo === first.lo + step * BigInt(i) && (i === ranges.length - 1 || r.hi === r.lo + step));
  if (even) return ranges.length === 1 ? '0' : d.intDiv(`${key} - (${first.lo})`, step.toString());
  const cases = ranges.map((r, i) => (r.hi === undefined ? `ELSE ${i}` : `WHEN ${key} < ${r.hi} THEN ${i}`));
  if (!cases[cases.length - 1]!.startsWith('ELSE')) cases.push('ELSE NULL');
  return `CASE ${cases.join(' ')} END`;
}

/**
 * Every row of `segment` — or of several disjoint segments at once (a batch of leaves: one query
 * instead of one per leaf) — : key texts `k0…`, value texts `v0…` (floats at full precision).
 */
export function segmentRowsSql(d: SqlDialect, table: SqlTable, plan: ComparisonPlan, side: 'a' | 'b', segment: Segment | readonly Segment[], filter?: RowFilter): string {
  const select = (c: ComparedColumn, alias: string) => {
    const name = sideName(c, side);
    const expr = d.quoteIdent(name);
    return `${c.type.kind === 'float' ? d.floatText(expr) : d.text(expr, c.type, nativeOf(table, name))} AS ${alias}`;
  };
  const list = [...plan.key.map((c, i) => select(c, `k${i}`)), ...plan.columns.map((c, i) => select(c, `v${i}`))];
  const segments: readonly Segment[] = Array.isArray(segment) ? segment : [segment as Segment];
  if (!segments.length) throw new Error('no segment to fetch');
  const where = conditions(d, plan, side, { kind: 'hash', modulus: 1, residue: 0 }, filter);
  const ofSegment = (s: Segment): string | undefined => {
    const own = conditions(d, plan, side, s, undefined);
    if (s.kind === 'hash' && s.modulus > 1) own.push(`${keyHashSql(d, table, plan, side)} % ${s.modulus} = ${s.residue}`);
    return own.length ? own.join(' AND ') : undefined;
  };
  if (segments.length === 1) {
    const own = ofSegment(segments[0]!);
    if (own) where.push(own);
  } else {
    // Hash buckets of one modulus: one IN list over the key hash, computed once per row.
    const byModulus = new Map<number, number[]>();
    const parts: string[] = [];
    for (const s of segments) {
      if (s.kind === 'hash' && s.modulus > 1) byModulus.set(s.modulus, [...(byModulus.get(s.modulus) ?? []), s.residue]);
      else {
        const own = ofSegment(s);
        if (!own) return `SELECT ${list.join(', ')} FROM ${table.sql}${whereSql(where)}`;
        parts.push(`(${own})`);
      }
    }
    for (const [modulus, residues] of byModulus) parts.push(`${keyHashSql(d, table, plan, side)} % ${modulus} IN (${residues.join(', ')})`);
    where.push(parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`);
  }
  return `SELECT ${list.join(', ')} FROM ${table.sql}${whereSql(where)}`;
}

/** The smallest and largest key of a range-segmented plan (`lo`, `hi`, as integer text). */
export function keyBoundsSql(d: SqlDialect, table: SqlTable, plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): string {
  const key = d.quoteIdent(sideName(plan.key[0]!, side));
  const native = nativeOf(table, sideName(plan.key[0]!, side));
  const integer = { kind: 'integer' } as const;
  return `SELECT ${d.text(`MIN(${key})`, integer, native)} AS lo, ${d.text(`MAX(${key})`, integer, native)} AS hi FROM ${table.sql}${whereSql(conditions(d, plan, side, { kind: 'hash', modulus: 1, residue: 0 }, filter))}`;
}

/**
 * The float expression of normalize.ts floatText in SQL: `<round(x·10^k)>e<E>` with
 * E = FLOOR(LOG10|x|), k = digits − 1 − E (multiplying by 10^k, or dividing by 10^−k).
 */
export function floatHashText(d: SqlDialect, x: string, digits: number, fns: { log10: string; bigint: string; text: string }): string {
  const e = `FLOOR(${fns.log10}(ABS(${x})))`;
  const k = `(${digits - 1} - ${e})`;
  // 10^k overflows a double past k = 308 (|x| below ~1e-300): scale in two steps there.
  const scaled = `CASE WHEN ${k} > 300 THEN ${x} * POWER(10, 300) * POWER(10, ${k} - 300) WHEN ${k} >= 0 THEN ${x} * POWER(10, ${k}) ELSE ${x} / POWER(10, -${k}) END`;
  const m = `CAST(CAST(SIGN(${x}) * ROUND(ABS(${scaled})) AS ${fns.bigint}) AS ${fns.text})`;
  return `CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} = 0 THEN '0' ELSE ${d.concat([m, "'e'", `CAST(CAST(${e} AS ${fns.bigint}) AS ${fns.text})`])} END`;
}

/** A timestamp text cut to `precision` fractional digits. */
export function timestampCut(textExpr: string, precision: number): string {
  return `SUBSTR(${textExpr}, 1, ${precision > 0 ? 20 + precision : 19})`;
}
