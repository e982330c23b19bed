/**
 * Building a comparison plan (./model.ts ComparisonPlan): from both sides' catalog types
 * ({@link buildPlan}, the `syncproof diff` command), or for a configured dataset, source ↔
 * warehouse, from its persisted source schema ({@link datasetPlan}, the verify stage). Pure.
 *
 * The verify stage's call, once it has both sides open (lambdas/adapters/content/*):
 * ```ts
 * const plan = datasetPlan(schemaDocument);
 * const result = await compareContent(sourceSide, warehouseSide, plan, { filter: cursorFilter(plan, schemaDocument, from, to) });
 * ```
 */
import { TerminalError } from '../errors';
import { nearestName } from '../nearest-name';
import type { SchemaColumn, SchemaDocument } from '../source-schema';
import { DEFAULT_FACTOR, DEFAULT_FETCH_ROWS, DEFAULT_FLOAT_TOLERANCE } from './bisect';
import type { ComparedColumn, ComparedType, ComparisonPlan, RowFilter } from './model';

/** A plan that cannot be built (a named column missing, types that do not compare): one sentence. */
export class ContentPlanError extends TerminalError {}

/** What plan building needs of a catalog column (lambdas/adapters/content/sql-side.ts CatalogColumn). */
export interface PlanColumn {
  readonly name: string;
  /** The catalog's type name, lowercase. */
  readonly type: string;
  readonly scale?: number;
  readonly datetimePrecision?: number;
}

type Kind = ComparedType['kind'];

/** Significant digits a float type holds. */
const FLOAT4_DIGITS = 6;
const FLOAT8_DIGITS = 15;

/** A catalog type's kind (undefined: loose, as SQLite's declared types may be). */
export function kindOf(type: string): Kind | undefined {
  const t = type.toLowerCase().trim();
  if (t === 'tinyint(1)' || /^bool/.test(t)) return 'boolean';
  if (/^(tiny|small|medium|big)?int(eger)?\d?\b|^(small|big)?serial|^int[248]$/.test(t)) return 'integer';
  if (/^(decimal|numeric|dec|fixed)\b/.test(t)) return 'decimal';
  if (/^(real|float|double|float[48])/.test(t)) return 'float';
  if (/^date$/.test(t)) return 'date';
  if (/^(timestamp|datetime)/.test(t)) return 'timestamp';
  if (/^(json|jsonb|super)$/.test(t)) return 'json';
  if (/^(bytea|varbyte|(var)?binary|binary varying|(tiny|medium|long)?blob)/.test(t)) return 'binary';
  if (/char|text|clob|^enum|^set|^string|^uuid|^citext/.test(t)) return 'text';
  return undefined;
}

function floatDigits(type: string): number {
  return /^(real|float4|float$|float\(([1-9]|1\d|2[0-4])\))/.test(type.toLowerCase()) ? FLOAT4_DIGITS : FLOAT8_DIGITS;
}

/**
 * The scale a decimal column of undeclared scale is compared at: MySQL's largest DECIMAL scale,
 * which every dialect can round to (Redshift pads its own declared scale instead of casting).
 */
export const UNDECLARED_SCALE = 30;

function declaredScale(c: PlanColumn): number | undefined {
  if (c.scale !== undefined) return c.scale;
  const m = /\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(c.type);
  return m ? Number(m[1]) : undefined;
}

function declaredPrecision(c: PlanColumn): number | undefined {
  if (c.datetimePrecision !== undefined) return c.datetimePrecision;
  const m = /\(\s*(\d)\s*\)/.exec(c.type);
  return m ? Number(m[1]) : undefined;
}


/** Where two kinds meet: the finer one both can be read as, or undefined when they do not compare. */
function meet(x: Kind, y: Kind): Kind | undefined {
  if (x === y) return x;
  const pair = new Set([x, y]);
  const is = (p: Kind, q: Kind) => pair.has(p) && pair.has(q);
  if (is('integer', 'decimal')) return 'decimal';
  if (is('integer', 'float') || is('decimal', 'float')) return 'float';
  if (is('date', 'timestamp')) return 'timestamp';
  // A document held as text on one side is compared as text: the extraction loads the source's JSON text as it reads it.
  if (is('json', 'text')) return 'text';
  if (is('boolean', 'integer')) return 'boolean';
  return undefined;
}

/** The compared type of a column declared `a` on one side and `b` on the other. */
export function comparedType(a: PlanColumn, b: PlanColumn, floatTolerance: number, mysqlSide?: 'a' | 'b', looseSide?: 'a' | 'b'): ComparedType {
  const ka = looseSide === 'a' && kindOf(b.type) ? undefined : kindOf(a.type);
  const kb = looseSide === 'b' && kindOf(a.type) ? undefined : kindOf(b.type);
  const kind = ka && kb ? meet(ka, kb) : (ka ?? kb ?? 'text');
  if (!kind) throw new ContentPlanError(`column ${a.name} is ${a.type} on one side and ${b.type} on the other, which do not compare; leave it out with --columns`);
  switch (kind) {
    case 'decimal': {
      // A decimal column of undeclared scale (PostgreSQL's bare NUMERIC, SQLite's NUMERIC) holds any
      // number of fractional digits: compared at UNDECLARED_SCALE, never at 0 (which made 1.1 equal 1.2).
      const sa = declaredScale(a) ?? (ka === 'decimal' ? UNDECLARED_SCALE : 0);
      const sb = declaredScale(b) ?? (kb === 'decimal' ? UNDECLARED_SCALE : 0);
      return { kind, scale: Math.max(sa, sb) };
    }
    case 'float': {
      const tolDigits = Math.max(1, Math.floor(-Math.log10(floatTolerance)));
      const held = Math.min(ka === 'float' ? floatDigits(a.type) : FLOAT8_DIGITS, kb === 'float' ? floatDigits(b.type) : FLOAT8_DIGITS);
      return { kind, digits: Math.min(held, tolDigits) };
    }
    case 'timestamp': {
      const pa = ka === 'date' ? 6 : (declaredPrecision(a) ?? 6);
      const pb = kb === 'date' ? 6 : (declaredPrecision(b) ?? 6);
      const tz = [[a, mysqlSide === 'a'], [b, mysqlSide === 'b']].some(([c, mysql]) => {
        const t = (c as PlanColumn).type.toLowerCase();
        // MySQL TIMESTAMP(n) holds an instant whatever its precision; DATETIME a wall-clock value.
        return mysql ? /^timestamp\b/.test(t) : /with time zone|timestamptz/.test(t);
      });
      return { kind, precision: Math.min(pa, pb), tz };
    }
    default:
      return { kind } as ComparedType;
  }
}

export interface PlanOptions {
  /** Key column names on side a (same names on b, or renamed through `renames`). */
  readonly key: readonly string[];
  /** Columns to compare besides the key; default: every column both sides have. */
  readonly columns?: readonly string[];
  /** a name → b name, where they differ. */
  readonly renames?: ReadonlyMap<string, string>;
  readonly factor?: number;
  readonly fetchRows?: number;
  readonly floatTolerance?: number;
  /** Which side is MySQL/MariaDB (its TIMESTAMP is an instant). */
  readonly mysqlSide?: 'a' | 'b';
  /** Which side declares types loosely (SQLite: a TEXT column may hold timestamps): the other side's types decide. */
  readonly looseSide?: 'a' | 'b';
}

/** A plan with the columns one side lacks, for the report. */
export interface BuiltPlan {
  readonly plan: ComparisonPlan;
  /** Columns of a or b that are not compared (only on one side). */
  readonly onlyA: readonly string[];
  readonly onlyB: readonly string[];
}

/** The plan of two catalogs (see the module doc). */
export function buildPlan(catalogA: readonly PlanColumn[], catalogB: readonly PlanColumn[], options: PlanOptions): BuiltPlan {
  const tolerance = options.floatTolerance ?? DEFAULT_FLOAT_TOLERANCE;
  const findA = (name: string, what: string) => {
    const c = catalogA.find((x) => x.name === name) ?? catalogA.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!c) {
      const near = nearestName(name, catalogA.map((x) => x.name));
      throw new ContentPlanError(`${what} column ${name} is not in the first table${near ? ` (did you mean ${near}?)` : ''}; its columns are ${catalogA.map((x) => x.name).join(', ')}`);
    }
    return c;
  };
  const partnerOf = (a: PlanColumn) => {
    const wanted = options.renames?.get(a.name) ?? a.name;
    return catalogB.find((x) => x.name === wanted) ?? catalogB.find((x) => x.name.toLowerCase() === wanted.toLowerCase());
  };
  const pair = (a: PlanColumn, what: string): ComparedColumn => {
    const b = partnerOf(a);
    if (!b) {
      const near = nearestName(a.name, catalogB.map((x) => x.name));
      throw new ContentPlanError(`${what} column ${a.name} is not in the second table${near ? ` (did you mean ${near}?)` : ''}; its columns are ${catalogB.map((x) => x.name).join(', ')}`);
    }
    return { a: a.name, b: b.name, type: comparedType(a, b, tolerance, options.mysqlSide, options.looseSide) };
  };
  if (!options.key.length) throw new ContentPlanError('no key column given: name the key with --key COL[,COL…]');
  const key = options.key.map((k) => pair(findA(k, 'key'), 'key'));
  const keyNames = new Set(key.map((k) => k.a));
  const chosen = options.columns
    ? options.columns.map((c) => findA(c, 'compared'))
    : catalogA.filter((c) => partnerOf(c) !== undefined);
  const columns = chosen.filter((c) => !keyNames.has(c.name)).map((c) => pair(c, 'compared'));
  const comparedB = new Set([...key, ...columns].map((c) => c.b));
  const segmentation = key.length === 1 && key[0]!.type.kind === 'integer' ? 'range' : 'hash';
  return {
    plan: {
      key,
      columns,
      segmentation,
      factor: options.factor ?? DEFAULT_FACTOR,
      fetchRows: options.fetchRows ?? DEFAULT_FETCH_ROWS,
      floatTolerance: tolerance,
    },
    onlyA: options.columns ? [] : catalogA.filter((c) => !partnerOf(c)).map((c) => c.name),
    onlyB: options.columns ? [] : catalogB.filter((c) => !comparedB.has(c.name)).map((c) => c.name),
  };
}

/** The source catalog column of a persisted schema column. */
function sourceColumn(c: SchemaColumn): PlanColumn {
  return {
    name: c.source,
    type: c.columnType || c.dataType,
    ...(c.type.parquet.scale !== undefined ? { scale: c.type.parquet.scale } : {}),
    ...(c.datetimePrecision !== undefined ? { datetimePrecision: c.datetimePrecision } : {}),
  };
}

/** The warehouse column a schema column loads into (its Redshift type as mapped). */
function warehouseColumn(c: SchemaColumn): PlanColumn {
  const t = c.type.redshift.toLowerCase();
  return { name: c.name, type: t, ...(c.type.parquet.scale !== undefined ? { scale: c.type.parquet.scale } : {}) };
}

/**
 * The plan of a configured dataset, source (a) ↔ warehouse (b), from its persisted source schema:
 * the key and every column not dropped, renamed as the extraction named them
 * (lambdas/core/column-names.ts), typed by the mapping (lambdas/core/source-types.ts).
 */
export function datasetPlan(schema: SchemaDocument, options: { factor?: number; fetchRows?: number; floatTolerance?: number } = {}): ComparisonPlan {
  const live = schema.columns.filter((c) => !c.dropped);
  const renames = new Map(live.map((c) => [c.source, c.name]));
  return buildPlan(live.map(sourceColumn), live.map(warehouseColumn), {
    key: schema.keyColumns,
    renames,
    ...options,
    ...(schema.engine === 'mysql' ? { mysqlSide: 'a' as const } : {}),
  }).plan;
}

/** The filter of a run's cursor window [from, to] (normalized text), on the dataset's cursor column. */
export function cursorFilter(plan: ComparisonPlan, schema: SchemaDocument, from?: string, to?: string): RowFilter {
  const column = [...plan.key, ...plan.columns].find((c) => c.a === schema.cursorColumn);
  if (!column) throw new ContentPlanError(`the cursor column ${schema.cursorColumn} of dataset '${schema.dataset}' is not compared`);
  return { a: column.a, b: column.b, type: column.type, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}
