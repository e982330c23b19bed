/**
 * What the content check of a file dataset (lambdas/core/content/file-content.ts) needs from the
 * outside world: loaded Parquet files read with hyparquet (./parquet-file.ts), pinned to their
 * ETag, and the target table as a content side — Redshift-dialect SQL
 * (lambdas/core/content/dialects/redshift.ts) through the Warehouse port, which the local
 * Postgres-family warehouse translates.
 */
import { redshiftDialect as d } from '../core/content/dialects/redshift';
import { keyBoundsSql, segmentRowsSql, segmentSumsSql, type SqlTable } from '../core/content/dialects/dialect';
import { OCCURRENCES_COLUMN } from '../core/content/expected-rows';
import type { ContentFileReader, ContentTarget, FileContentDeps } from '../core/content/file-content';
import type { ComparisonPlan, ContentSide, NormalizedRow, RowFilter, Segment, SegmentSum } from '../core/content/model';
import type { PlanColumn } from '../core/content/plan';
import type { DatasetConfig } from '../core/config';
import type { ObjectStore, Warehouse } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';
import { decodeParquet, readParquetInfo } from './parquet-file';

/** Loaded Parquet files, read whole one at a time, pinned to the ETag the ledger records. */
export function parquetContentReader(objects: ObjectStore): ContentFileReader {
  return {
    async columns(key, size, etag) {
      return (await readParquetInfo(objects, key, size, etag)).columns.map((c) => ({ name: c.name, type: c.type }));
    },
    async read(key, etag, columns, binary) {
      const decoded = await decodeParquet(key, await objects.getBytes(key, undefined, { ifMatch: etag }), columns, { binaryColumns: binary });
      return { rowCount: decoded.rowCount, data: decoded.data };
    },
  };
}

/** The target's columns from the warehouse's catalog (information_schema), in order. */
async function targetCatalog(warehouse: Warehouse, schema: string, table: string): Promise<PlanColumn[]> {
  const rows = await warehouse.query(
    'SELECT column_name, data_type, numeric_scale, datetime_precision FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position',
    { schema, table },
  );
  return rows.map((r) => ({
    name: String(r.column_name),
    type: String(r.data_type).toLowerCase(),
    ...(r.numeric_scale !== null && r.numeric_scale !== undefined ? { scale: Number(r.numeric_scale) } : {}),
    ...(r.datetime_precision !== null && r.datetime_precision !== undefined ? { datetimePrecision: Number(r.datetime_precision) } : {}),
  }));
}

/** A content side over a table (or a derived table) of the warehouse: one query per method. */
function warehouseSide(warehouse: Warehouse, table: SqlTable): ContentSide {
  const run = async (sql: string) => (await warehouse.query(sql)) as Record<string, unknown>[];
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    label: 'warehouse',
    async childSums(parent: Segment, children: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter) {
      const sums = new Map<number, SegmentSum>();
      for (const row of await run(segmentSumsSql(d, table, plan, side, parent, children, filter))) {
        if (row.b === null || row.b === undefined) continue;
        const bucket = Number(row.b);
        const index = parent.kind === 'hash' ? (bucket - parent.residue) / parent.modulus : bucket;
        sums.set(index, { count: BigInt(String(row.n)), sumHi: BigInt(String(row.sh)), sumLo: BigInt(String(row.sl)) });
      }
      return sums;
    },
    async rows(segment: Segment, plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
      const rows = await run(segmentRowsSql(d, table, plan, side, segment, filter));
      return rows.map((r) => ({ key: plan.key.map((_, i) => text(r[`k${i}`])), values: plan.columns.map((_, i) => text(r[`v${i}`])) }));
    },
    async keyBounds(plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter) {
      const [row] = await run(keyBoundsSql(d, table, plan, side, filter));
      return !row || row.lo === null || row.lo === undefined ? undefined : { lo: String(row.lo), hi: String(row.hi) };
    },
    async close() {},
  };
}

/**
 * The dataset's target as a content side. Multiset: the distinct rows of the named columns with
 * their count (`GROUP BY` in a derived table; GROUP BY treats NULLs as equal, as the JS side does).
 */
export async function openContentTarget(warehouse: Warehouse, dataset: DatasetConfig): Promise<ContentTarget> {
  const { schema, table } = dataset.target;
  const catalog = await targetCatalog(warehouse, schema, table);
  const columns = new Map(catalog.map((c) => [c.name, c]));
  const name = `${d.quoteIdent(schema)}.${d.quoteIdent(table)}`;
  return {
    catalog,
    side(multiset) {
      if (!multiset) return warehouseSide(warehouse, { sql: name, columns });
      const list = multiset.columns.map((c) => d.quoteIdent(c)).join(', ');
      const grouped = `(SELECT ${list}, COUNT(*) AS ${d.quoteIdent(OCCURRENCES_COLUMN)} FROM ${name} GROUP BY ${list}) syncproof_rows_of`;
      return warehouseSide(warehouse, { sql: grouped, columns: new Map([...columns, [OCCURRENCES_COLUMN, { name: OCCURRENCES_COLUMN, type: 'bigint' }]]) });
    },
    async close() {},
  };
}

/** The content check's deps from a stage's deps. */
export function fileContentDeps(deps: Pick<StageDeps, 'objects' | 'ledger' | 'clock' | 'warehouse'>): FileContentDeps {
  return {
    objects: deps.objects,
    ledger: deps.ledger,
    clock: deps.clock,
    reader: parquetContentReader(deps.objects),
    openTarget: async (dataset) => openContentTarget(await deps.warehouse(), dataset),
  };
}
