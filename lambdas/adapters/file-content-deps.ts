/**
 * What the content check of a file dataset (lambdas/core/content/file-content.ts) needs from the
 * outside world: loaded Parquet files read with hyparquet (./parquet-file.ts), pinned to their
 * ETag, and the target table as a content side (./content/warehouse-side.ts: Redshift-dialect SQL
 * through the Warehouse port, which the local Postgres-family warehouse translates).
 */
import { redshiftDialect as d } from '../core/content/dialects/redshift';
import { OCCURRENCES_COLUMN } from '../core/content/expected-rows';
import type { ContentFileReader, ContentTarget, FileContentDeps } from '../core/content/file-content';
import type { DatasetConfig } from '../core/config';
import type { ObjectStore, Warehouse } from '../core/ports';
import type { StageDeps } from '../core/stage-deps';
import { SqlContentSide } from './content/sql-side';
import { openWarehouseSide } from './content/warehouse-side';
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

/**
 * The dataset's target as a content side (./content/warehouse-side.ts). Multiset: the distinct
 * rows of the named columns with their count, a `GROUP BY` in a derived table (GROUP BY takes
 * NULLs as equal, as the JS side does), through the same SQL side.
 */
export async function openContentTarget(warehouse: Warehouse, dataset: DatasetConfig): Promise<ContentTarget> {
  const { schema, table } = dataset.target;
  const plain = await openWarehouseSide(warehouse, `${schema}.${table}`);
  const name = `${d.quoteIdent(schema)}.${d.quoteIdent(table)}`;
  const run = async (sql: string) => (await warehouse.query(sql)) as Record<string, unknown>[];
  return {
    catalog: plain.catalog,
    side(multiset) {
      if (!multiset) return plain;
      const list = multiset.columns.map((c) => d.quoteIdent(c)).join(', ');
      const grouped = `(SELECT ${list}, COUNT(*) AS ${d.quoteIdent(OCCURRENCES_COLUMN)} FROM ${name} GROUP BY ${list}) syncproof_rows_of`;
      return new SqlContentSide('warehouse', d, run, grouped, [...plain.catalog, { name: OCCURRENCES_COLUMN, type: 'bigint' }], async () => undefined);
    },
    close: () => plain.close(),
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
