/**
 * Does a Parquet file fit its target table the way Redshift's COPY reads it? Parquet COPY maps
 * columns by position and needs equal column counts (DESIGN.md §4), and refuses types it cannot
 * convert even where PostgreSQL would (INT64 into INTEGER, a STRING into DATE). Pure.
 */

export interface FileColumn {
  readonly name: string;
  /** Readable Parquet type (see ParquetColumn.type): `INT64`, `BYTE_ARRAY/STRING`, `DECIMAL(12,2)`, … */
  readonly type: string;
  /** False when the target declares the column NOT NULL (information_schema `is_nullable = 'NO'`); absent: unknown. */
  readonly nullable?: boolean;
}

export interface TargetColumn {
  readonly name: string;
  /**
   * information_schema `data_type` (`integer`, `character varying`, `numeric`, `timestamp with time
   * zone`, …; VARBYTE is `binary varying` on Redshift, `bytea` on PostgreSQL).
   */
  readonly type: string;
}

/**
 * - `ok`: loads as is;
 * - `order`: same columns in another order, or a type Redshift cannot load into the target's
 *   column: this file is quarantined, the rest of the batch loads;
 * - `drift`: the file has columns the target lacks, or lacks some of the target's: the dataset's
 *   schema changed (policy `schemaDrift`).
 */
export type ColumnVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'order'; readonly reason: string }
  | { readonly kind: 'drift'; readonly reason: string; readonly added: readonly FileColumn[]; readonly missing: readonly string[] };

const INTEGER_TARGETS = ['smallint', 'integer', 'bigint'];
const TEXT_TARGETS = ['character varying', 'character', 'text'];
/**
 * SUPER as Redshift's information_schema names it, and PostgreSQL's jsonb standing in for it: a
 * string loads into it (as a SUPER string; the load plan stages a declared SUPER column as text
 * and parses it, see lambdas/core/load-plan.ts).
 */
const JSON_TARGETS = ['super', 'jsonb'];
/** VARBYTE as Redshift's information_schema names it, and PostgreSQL's bytea standing in for it. */
const BINARY_TARGETS = ['binary varying', 'varbyte', 'bytea'];

/**
 * Target types each Parquet type loads into on Redshift (the Spectrum conversion rules COPY uses).
 * A Parquet type not listed is not judged here: the warehouse has the last word.
 */
function loadableInto(parquetType: string): readonly string[] | undefined {
  const t = parquetType.toUpperCase();
  if (t === 'BOOLEAN') return ['boolean'];
  if (/^INT(8|16|32)$/.test(t) || t === 'INT32' || /^UINT(8|16)$/.test(t)) return INTEGER_TARGETS;
  if (t === 'UINT32' || t === 'INT64') return ['bigint'];
  if (t === 'FLOAT') return ['real', 'double precision'];
  if (t === 'DOUBLE') return ['double precision'];
  if (t.startsWith('DECIMAL')) return ['numeric'];
  if (t === 'DATE') return ['date'];
  if (/^TIMESTAMP/.test(t) || t === 'INT96') return ['timestamp without time zone', 'timestamp with time zone'];
  if (/^TIME/.test(t)) return [];
  if (/STRING|UTF8|ENUM|JSON|UUID/.test(t)) return [...TEXT_TARGETS, ...JSON_TARGETS];
  // Without an annotation: bytes into VARBYTE, or text into VARCHAR (older writers' strings).
  if (t === 'BYTE_ARRAY') return [...BINARY_TARGETS, ...TEXT_TARGETS, ...JSON_TARGETS];
  return undefined;
}

/** Checks a file's columns against the target's, naming the first column that differs. */
export function checkFileColumns(file: readonly FileColumn[], target: readonly TargetColumn[], targetName: string): ColumnVerdict {
  const fileNames = new Set(file.map((c) => c.name));
  const targetNames = new Set(target.map((c) => c.name));
  const added = file.filter((c) => !targetNames.has(c.name));
  const missing = target.filter((c) => !fileNames.has(c.name)).map((c) => c.name);
  if (added.length > 0 || missing.length > 0) {
    const parts: string[] = [];
    if (added.length) parts.push(`column${added.length > 1 ? 's' : ''} ${added.map((c) => `'${c.name}' (${c.type})`).join(', ')} not in target table ${targetName}`);
    if (missing.length) parts.push(`target column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} missing from the file`);
    return { kind: 'drift', reason: parts.join('; '), added, missing };
  }
  for (let i = 0; i < target.length; i++) {
    const want = target[i]!;
    const got = file[i]!;
    if (got.name !== want.name) {
      return {
        kind: 'order',
        reason: `column ${i + 1} is '${got.name}' but the target's column ${i + 1} is '${want.name}'; Redshift's Parquet COPY maps columns by position, so rewrite the file in the target's column order (${target.map((c) => c.name).join(', ')})`,
      };
    }
    const allowed = loadableInto(got.type);
    if (allowed !== undefined && !allowed.includes(want.type.toLowerCase())) {
      return {
        kind: 'order',
        reason: `column '${got.name}' is ${got.type} in the file but ${want.type} in target table ${targetName}; Redshift cannot load ${got.type} into ${want.type}` +
          (allowed.length ? ` (it loads into ${allowed.join(', ')})` : '') +
          '; rewrite the file with a matching type or change the column',
      };
    }
  }
  return { kind: 'ok' };
}

/** The Redshift column type a new Parquet column becomes under `schemaDrift: add-columns`; undefined when none loads. */
export function redshiftTypeFor(parquetType: string): string | undefined {
  const t = parquetType.toUpperCase();
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return Number(decimal[1]) <= 38 ? `DECIMAL(${decimal[1]},${decimal[2]})` : undefined;
  if (t === 'BOOLEAN') return 'BOOLEAN';
  if (/^U?INT(8|16)$/.test(t)) return 'SMALLINT';
  if (t === 'INT32') return 'INTEGER';
  if (t === 'UINT32' || t === 'INT64') return 'BIGINT';
  if (t === 'FLOAT') return 'REAL';
  if (t === 'DOUBLE') return 'DOUBLE PRECISION';
  if (t === 'DATE') return 'DATE';
  if (/^TIMESTAMP/.test(t) || t === 'INT96') return 'TIMESTAMP';
  if (/STRING|UTF8|ENUM|JSON|UUID/.test(t)) return 'VARCHAR(65535)';
  if (t === 'BYTE_ARRAY') return 'VARBYTE(1024000)';
  return undefined;
}

/** New columns to add for a drifted file, or undefined when one of them has no loadable type. */
export function columnsToAdd(added: readonly FileColumn[]): { name: string; type: string }[] | undefined {
  const out: { name: string; type: string }[] = [];
  for (const c of added) {
    const type = redshiftTypeFor(c.type);
    if (!type || !/^[a-z_][a-z0-9_]{0,126}$/.test(c.name)) return undefined;
    out.push({ name: c.name, type });
  }
  return out;
}
