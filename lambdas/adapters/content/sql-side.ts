/**
 * A content side over a SQL table (lambdas/core/content/model.ts ContentSide): each method is one
 * query built by the engine's dialect (lambdas/core/content/dialects/*), run by a small runner the
 * engine's adapter gives (./postgres-side.ts, ./mysql-side.ts, ./sqlite-side.ts, ./warehouse-side.ts).
 */
import { TerminalError } from '../../core/errors';
import { keyBoundsSql, segmentRowsSql, segmentSumsSql, type NativeColumn, type SqlDialect, type SqlTable } from '../../core/content/dialects/dialect';
import type { ComparisonPlan, ContentSide, NativeHashing, NormalizedRow, RowFilter, Segment, SegmentSum } from '../../core/content/model';

/** A column as a side's catalog declares it, with what plan building needs. */
export interface CatalogColumn extends NativeColumn {
  /** Fractional-second digits of a timestamp column. */
  readonly datetimePrecision?: number;
  /**
   * The column's exact declared type for the same-engine fast path (model.ts NativeHashing), e.g.
   * `numeric/2/`, `timestamp//3`; absent: the column is never hashed natively.
   */
  readonly nativeType?: string;
}

/** What an adapter gives for the same-engine fast path: its engine and hash, and the probe query (column `p`). */
export interface NativeOffer {
  readonly engine: string;
  readonly probeSql: string;
}

/** Runs one query and returns its rows (column name → value). */
export type RunQuery = (sql: string) => Promise<Record<string, unknown>[]>;

/** A table a side could not find, or a column not in it: one sentence naming it and what to do. */
export class ContentSideError extends TerminalError {}

/** `schema.table` or `table` (quotes allowed around each part). */
export function parseTableName(name: string): { schema?: string; table: string } {
  const parts = name.match(/("([^"]|"")*"|`([^`]|``)*`|[^.]+)/g) ?? [];
  const unquote = (p: string) => (/^["`]/.test(p) ? p.slice(1, -1).replace(/""|``/g, (q) => q[0]!) : p);
  if (parts.length === 1) return { table: unquote(parts[0]!) };
  if (parts.length === 2) return { schema: unquote(parts[0]!), table: unquote(parts[1]!) };
  throw new ContentSideError(`table '${name}' is not a name or schema.name`);
}

export class SqlContentSide implements ContentSide {
  private readonly table: SqlTable;
  readonly native?: NativeHashing;

  constructor(
    readonly label: string,
    private readonly dialect: SqlDialect,
    private readonly run: RunQuery,
    tableSql: string,
    /** The table's columns in catalog order. */
    readonly catalog: readonly CatalogColumn[],
    private readonly onClose: () => Promise<void>,
    offer?: NativeOffer,
  ) {
    this.table = { sql: tableSql, columns: new Map(catalog.map((c) => [c.name, c])) };
    if (offer && dialect.nativeHash) {
      let probe: Promise<string> | undefined;
      const byName = this.table.columns as ReadonlyMap<string, CatalogColumn>;
      this.native = {
        engine: offer.engine,
        nativeType: (column) => byName.get(column)?.nativeType,
        probe: () => (probe ??= this.run(offer.probeSql).then((rows) => String(rows[0]?.p))),
      };
    }
  }

  async childSums(parent: Segment, children: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<Map<number, SegmentSum>> {
    const rows = await this.run(segmentSumsSql(this.dialect, this.table, plan, side, parent, children, filter));
    const sums = new Map<number, SegmentSum>();
    for (const row of rows) {
      if (row.b === null || row.b === undefined) continue;
      const bucket = Number(row.b);
      const index = parent.kind === 'hash' ? (bucket - parent.residue) / parent.modulus : bucket;
      sums.set(index, { count: BigInt(String(row.n)), sumHi: BigInt(String(row.sh)), sumLo: BigInt(String(row.sl)) });
    }
    return sums;
  }

  rows(segment: Segment, plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
    return this.rowsOf([segment], plan, side, filter);
  }

  async rowsOf(segments: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
    const rows = await this.run(segmentRowsSql(this.dialect, this.table, plan, side, segments, filter));
    const text = (v: unknown) => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
    return rows.map((r) => ({ key: plan.key.map((_, i) => text(r[`k${i}`])), values: plan.columns.map((_, i) => text(r[`v${i}`])) }));
  }

  async keyBounds(plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<{ lo: string; hi: string } | undefined> {
    const [row] = await this.run(keyBoundsSql(this.dialect, this.table, plan, side, filter));
    if (!row || row.lo === null || row.lo === undefined) return undefined;
    return { lo: String(row.lo), hi: String(row.hi) };
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/** The side's catalog, or ContentSideError naming the table when it has no columns (no such table). */
export function requireColumns(catalog: readonly CatalogColumn[], table: string, where: string): readonly CatalogColumn[] {
  if (!catalog.length) throw new ContentSideError(`table ${table} was not found in ${where}: check its name (schema.table) and that this user may read it`);
  return catalog;
}
