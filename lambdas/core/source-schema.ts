/**
 * A dataset's source schema: the source table's columns mapped to warehouse names and types,
 * persisted in S3 (`_syncproof/schemas/<dataset>.json`) so names never change between runs, and
 * the checks a table must pass before anything is extracted from it. Pure.
 */
import { z } from 'zod';
import { assignWarehouseNames } from './column-names';
import { INTERNAL_PREFIX, jsonTypeOf, type DatasetConfig, type SourceConfig } from './config';
import { SourceTableMissingError, TerminalError } from './errors';
import type { ObjectStore } from './ports';
import type { SourceColumn, SourceEngine, SourceTable, TableRef } from './source';
import { SUPER, mapSourceType, type MappedType } from './source-types';

/** The source table or its mapping cannot be extracted as configured; nothing was written. */
export class SourceSchemaError extends TerminalError {
  override readonly name = 'SourceSchemaError';
}

/** Where a dataset's schema document lives. */
export function schemaDocumentKey(dataset: string): string {
  return `${INTERNAL_PREFIX}schemas/${dataset}.json`;
}

/** How a cursor's values are ordered and windowed: time (durations) or integer (counts). */
export type CursorKind = 'time' | 'integer';

const mappedTypeSchema = z.object({
  parquet: z.object({
    type: z.enum(['INT32', 'INT64', 'DECIMAL', 'FLOAT', 'DOUBLE', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'STRING', 'BYTES']),
    precision: z.number().int().optional(),
    scale: z.number().int().optional(),
    adjustedToUtc: z.boolean().optional(),
  }),
  redshift: z.string(),
  rule: z.enum(['int', 'bigint', 'decimal', 'float', 'bool', 'bit', 'date', 'timestamp', 'text', 'bytes']),
  maxBytes: z.number().int().optional(),
  warning: z.string().optional(),
});

const schemaColumnSchema = z.object({
  /** The source column's name. */
  source: z.string(),
  /** Its warehouse name (lambdas/core/column-names.ts), fixed once persisted. */
  name: z.string(),
  /** information_schema DATA_TYPE and COLUMN_TYPE / udt_name, for casts and change detection. */
  dataType: z.string(),
  columnType: z.string(),
  nullable: z.boolean(),
  /**
   * Fractional-second digits of a date/time column as the source's catalog declares them
   * (DATETIME(0), TIMESTAMP(3)): content comparison truncates both sides to the coarser precision.
   * Absent: not a date/time column, or persisted before it was kept (then 6 is assumed).
   */
  datetimePrecision: z.number().int().min(0).optional(),
  type: mappedTypeSchema,
  /** The source no longer has it: written as NULL, so the target keeps its columns in order. */
  dropped: z.boolean().optional(),
});
export type SchemaColumn = z.infer<typeof schemaColumnSchema>;

export const schemaDocumentSchema = z.object({
  dataset: z.string(),
  engine: z.enum(['mysql', 'postgres']),
  /** `schema.table` as configured. */
  table: z.string(),
  /** In target order: the table's order when first seen, new columns appended. */
  columns: z.array(schemaColumnSchema),
  /** Source names. */
  keyColumns: z.array(z.string()).min(1),
  cursorColumn: z.string(),
  cursorKind: z.enum(['time', 'integer']),
});
export type SchemaDocument = z.infer<typeof schemaDocumentSchema>;

/** A source column's declared fractional-second digits, where its catalog gives them. */
function precisionOf(c: SourceColumn): { datetimePrecision?: number } {
  return c.datetimePrecision === null ? {} : { datetimePrecision: c.datetimePrecision };
}

/** `db.table` / `schema.table` → its parts. */
export function tableRef(source: Pick<SourceConfig, 'table'>): TableRef {
  const dot = source.table.indexOf('.');
  return { schema: source.table.slice(0, dot), table: source.table.slice(dot + 1) };
}

function cursorKindOf(engine: SourceEngine, c: SourceColumn): CursorKind | undefined {
  const t = c.dataType;
  if (['date', 'datetime', 'timestamp', 'timestamp without time zone', 'timestamp with time zone'].includes(t)) return 'time';
  if (['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint'].includes(t)) return 'integer';
  if ((t === 'decimal' || t === 'numeric') && c.numericScale === 0 && (engine === 'mysql' || c.numericPrecision !== null)) return 'integer';
  return undefined;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export interface ResolvedSchema {
  readonly schema: SchemaDocument;
  /** True when the document differs from the persisted one (write it back). */
  readonly changed: boolean;
  /** Mapping warnings (precision > 38 → VARCHAR), one per column. */
  readonly warnings: readonly string[];
}

/**
 * Checks the table against the dataset and maps it, keeping every persisted name and type:
 * the table exists; every column's type is supported (all unsupported columns named at once);
 * the cursor column exists and is a date/time or integer column; the key is the primary key, or
 * the named `keyColumns` are the primary key or a unique key; a column whose mapped type changed
 * is refused (names both types). New columns are appended with new names; columns the source
 * dropped stay, marked `dropped`, written as NULL.
 */
export function resolveSourceSchema(dataset: DatasetConfig, table: SourceTable | undefined, persisted?: SchemaDocument): ResolvedSchema {
  const source = dataset.source;
  if (!source) throw new SourceSchemaError(`dataset '${dataset.name}' has no source`);
  const where = source.table;
  if (!table) {
    throw new SourceTableMissingError(
      `source table ${where} of dataset '${dataset.name}' does not exist${persisted ? ' (it did on earlier runs: was it dropped or renamed?)' : ''}; create it, or point source.table at the right table; nothing was extracted`,
    );
  }
  const options = { booleanColumns: new Set(source.booleanColumns ?? []), json: jsonTypeOf(source) };
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const unknownBoolean = [...options.booleanColumns].filter((n) => !byName.has(n));
  if (unknownBoolean.length) throw new SourceSchemaError(`source.booleanColumns names ${unknownBoolean.map((n) => `'${n}'`).join(', ')}, not columns of ${where}; fix the names`);

  const cursor = byName.get(source.cursorColumn);
  if (!cursor) {
    throw new SourceSchemaError(`cursor column '${source.cursorColumn}' is not a column of ${where} (columns: ${table.columns.map((c) => c.name).join(', ')}); set source.cursorColumn to the column that grows on every insert and update`);
  }
  const cursorKind = cursorKindOf(source.engine, cursor);
  if (!cursorKind) {
    throw new SourceSchemaError(`cursor column ${where}.${cursor.name} is ${cursor.columnType}; a cursor must be a date/time or integer column (updated_at, an auto-increment id)`);
  }

  let keyColumns: readonly string[];
  if (source.keyColumns) {
    const missing = source.keyColumns.filter((k) => !byName.has(k));
    if (missing.length) throw new SourceSchemaError(`source.keyColumns names ${missing.map((k) => `'${k}'`).join(', ')}, not columns of ${where}`);
    const unique = [table.primaryKey, ...table.uniqueKeys].some((k) => k.length > 0 && sameColumns(k, source.keyColumns!));
    if (!unique) {
      throw new SourceSchemaError(
        `source.keyColumns (${source.keyColumns.join(', ')}) of ${where} are neither its primary key nor a unique key, so rows could share a key and be lost; name the primary key or a unique key${table.primaryKey.length ? ` (primary key: ${table.primaryKey.join(', ')})` : ''}`,
      );
    }
    keyColumns = source.keyColumns;
  } else if (table.primaryKey.length > 0) {
    keyColumns = table.primaryKey;
  } else {
    const hint = table.uniqueKeys.length ? `; its unique keys: ${table.uniqueKeys.map((k) => `(${k.join(', ')})`).join(', ')}` : '';
    throw new SourceSchemaError(`source table ${where} has no primary key; name a unique key in source.keyColumns${hint}`);
  }
  const nullableKey = keyColumns.filter((k) => byName.get(k)!.nullable);
  if (nullableKey.length) throw new SourceSchemaError(`key column${nullableKey.length > 1 ? 's' : ''} ${nullableKey.map((k) => `${where}.${k}`).join(', ')} allow NULL; a key must be NOT NULL`);

  const engine = source.engine;
  const mapped = new Map<string, MappedType>();
  const unsupported: string[] = [];
  for (const c of table.columns) {
    const m = mapSourceType(engine, c, `${where}.${c.name}`, options);
    if (m.ok) mapped.set(c.name, m.type);
    else unsupported.push(m.reason);
  }
  if (unsupported.length) throw new SourceSchemaError(`${unsupported.join('; ')}; nothing was extracted`);
  // The merge matches and ranks rows by key; Redshift cannot sort or distribute by SUPER.
  const superKeys = keyColumns.filter((k) => mapped.get(k)?.redshift === SUPER);
  if (superKeys.length) {
    throw new SourceSchemaError(
      `key column${superKeys.length > 1 ? 's' : ''} ${superKeys.map((k) => `${where}.${k}`).join(', ')} would load as SUPER (source.jsonType 'super'), which cannot be a key of the merge; name other key columns in source.keyColumns, or set source.jsonType to 'varchar'`,
    );
  }

  const previous = new Map((persisted?.columns ?? []).map((c) => [c.source, c]));
  const names = assignWarehouseNames(
    table.columns.map((c) => c.name),
    new Map([...previous.values()].map((c) => [c.source, c.name])),
  );
  const columns: SchemaColumn[] = [];
  const changes: string[] = [];
  for (const old of persisted?.columns ?? []) {
    const now = byName.get(old.source);
    if (!now) {
      columns.push({ ...old, dropped: true });
      continue;
    }
    const type = mapped.get(old.source)!;
    // A mapping revision that only resizes the VARCHAR of an unchanged source type keeps the
    // persisted (target) column; a value longer than it still fails the run.
    // VARCHAR ↔ SUPER (source.jsonType changed) is a change of type, not of size.
    const isVarchar = (t: MappedType) => t.parquet.type === 'STRING' && t.redshift !== SUPER;
    const resized = now.dataType === old.dataType && now.columnType === old.columnType && isVarchar(type) && isVarchar(old.type);
    if (!resized && (type.redshift !== old.type.redshift || type.parquet.type !== old.type.parquet.type)) {
      const json = (type.redshift === SUPER) !== (old.type.redshift === SUPER) && now.dataType === old.dataType;
      changes.push(
        json
          ? `${where}.${old.source} (${now.columnType}) loads as ${old.type.redshift} and source.jsonType now asks for ${type.redshift}; set source.jsonType back to '${old.type.redshift === SUPER ? 'super' : 'varchar'}'`
          : `${where}.${old.source} was ${old.columnType} (${old.type.redshift}) and is now ${now.columnType} (${type.redshift})`,
      );
    }
    columns.push({ source: old.source, name: old.name, dataType: now.dataType, columnType: now.columnType, nullable: now.nullable, ...precisionOf(now), type: old.type });
  }
  if (changes.length) {
    throw new SourceSchemaError(`${changes.join('; ')}; the warehouse column keeps its type, so change the target table (or start a new dataset) and update ${schemaDocumentKey(dataset.name)}; nothing was extracted`);
  }
  for (const c of table.columns) {
    if (previous.has(c.name)) continue;
    columns.push({ source: c.name, name: names.get(c.name)!, dataType: c.dataType, columnType: c.columnType, nullable: c.nullable, ...precisionOf(c), type: mapped.get(c.name)! });
  }
  const schema: SchemaDocument = { dataset: dataset.name, engine, table: where, columns, keyColumns: [...keyColumns], cursorColumn: cursor.name, cursorKind };
  const changed = !persisted || JSON.stringify(persisted) !== JSON.stringify(schema);
  const warnings = columns.filter((c) => !c.dropped && c.type.warning).map((c) => c.type.warning!);
  return { schema, changed, warnings };
}

/** The warehouse name of a source column in `schema`. */
export function warehouseNameOf(schema: SchemaDocument, source: string): string {
  const c = schema.columns.find((x) => x.source === source);
  if (!c) throw new SourceSchemaError(`column '${source}' is not in the schema of dataset '${schema.dataset}'`);
  return c.name;
}

/**
 * The dataset as the load and verify stages see it: target columns, key and version column from
 * the schema document (the cursor orders versions, invariant I4), new source columns added to the
 * target (`schemaDrift: add-columns`).
 */
export function datasetWithSchema(dataset: DatasetConfig, schema: SchemaDocument): DatasetConfig {
  return {
    ...dataset,
    columns: schema.columns.map((c) => ({ name: c.name, type: c.type.redshift })),
    keyColumns: schema.keyColumns.map((k) => warehouseNameOf(schema, k)),
    versionColumn: warehouseNameOf(schema, schema.cursorColumn),
    schemaDrift: 'add-columns',
  };
}

/**
 * A dataset as the stages after extraction see it: for a dataset with a source, its columns, key
 * and version column come from the schema document the extract stage persisted.
 */
export async function loadableDataset(dataset: DatasetConfig, objects: ObjectStore): Promise<DatasetConfig> {
  if (!dataset.source) return dataset;
  const schema = await readSchemaDocument(objects, dataset.name);
  if (!schema) {
    throw new SourceSchemaError(`dataset '${dataset.name}' has no schema document at ${schemaDocumentKey(dataset.name)} yet: its extract stage has not run; start the run from the beginning`);
  }
  return datasetWithSchema(dataset, schema);
}

/** The dataset's persisted schema document, or undefined before its first extraction. */
export async function readSchemaDocument(objects: ObjectStore, dataset: string): Promise<SchemaDocument | undefined> {
  const key = schemaDocumentKey(dataset);
  if (!(await objects.head(key))) return undefined;
  return schemaDocumentSchema.parse(await objects.getJson(key));
}
