/**
 * A dataset's source table as a content side (./model.ts ContentSide) over the SourceDatabase port
 * (lambdas/core/source.ts): one session inside one snapshot, so every segment query of a comparison
 * sees the same source state. The SQL is the content dialect's (./dialects/*); the session returns
 * rows as arrays in select-list order, read here by the positions the builders select them in
 * (sums `b, n, sh, sl`; rows `k0…, v0…`; bounds `lo, hi`). Pure of drivers.
 */
import { qualifiedTable } from '../keyset';
import type { SourceSession, SourceValue } from '../source';
import type { SchemaColumn, SchemaDocument } from '../source-schema';
import { keyBoundsSql, segmentRowsSql, segmentSumsSql, type NativeColumn, type SqlDialect, type SqlTable } from './dialects/dialect';
import { mysqlDialect } from './dialects/mysql';
import { postgresDialect } from './dialects/postgres';
import type { ComparisonPlan, ContentSide, NormalizedRow, RowFilter, Segment, SegmentSum } from './model';

/** The catalog type the dialects read for a persisted source column (as lambdas/adapters/content/*-side.ts read their catalogs). */
export function nativeSourceColumn(engine: SchemaDocument['engine'], c: SchemaColumn): NativeColumn {
  const type = engine === 'mysql' && c.columnType.toLowerCase() === 'tinyint(1)' ? 'tinyint(1)' : c.dataType.toLowerCase();
  return { name: c.source, type };
}

/** The text of a value a dialect expression returned (text, numbers, bigints; bytes as UTF-8). */
function text(v: SourceValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return String(v);
}

export class SessionContentSide implements ContentSide {
  readonly label: string;
  private readonly dialect: SqlDialect;
  private readonly table: SqlTable;

  constructor(
    private readonly session: SourceSession,
    schema: SchemaDocument,
  ) {
    this.label = schema.engine;
    this.dialect = schema.engine === 'mysql' ? mysqlDialect : postgresDialect;
    const live = schema.columns.filter((c) => !c.dropped);
    this.table = { sql: qualifiedTable(schema.engine, schema.table), columns: new Map(live.map((c) => [c.source, nativeSourceColumn(schema.engine, c)])) };
  }

  private prepared?: Promise<unknown>;

  /**
   * A PostgreSQL snapshot first turns JIT off for its transaction (`SET LOCAL`): the content queries
   * are long expressions over every row, which JIT spent seconds compiling (measured 2.9 s of a 6 s
   * root query over 1,000,000 rows).
   */
  private query(sql: string): ReturnType<SourceSession['query']> {
    if (this.dialect.name === 'postgres') this.prepared ??= this.session.query('SET LOCAL jit = off');
    return this.prepared ? this.prepared.then(() => this.session.query(sql)) : this.session.query(sql);
  }

  /** Whether the session takes a query while another runs (else the caller asks one at a time). */
  get queuesReads(): boolean {
    return this.session.queuesReads === true;
  }

  async childSums(parent: Segment, children: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<Map<number, SegmentSum>> {
    const rows = await this.query(segmentSumsSql(this.dialect, this.table, plan, side, parent, children, filter));
    const sums = new Map<number, SegmentSum>();
    for (const [b, n, sh, sl] of rows) {
      if (b === null || b === undefined) continue;
      const bucket = Number(b);
      const index = parent.kind === 'hash' ? (bucket - parent.residue) / parent.modulus : bucket;
      sums.set(index, { count: BigInt(text(n) ?? '0'), sumHi: BigInt(text(sh) ?? '0'), sumLo: BigInt(text(sl) ?? '0') });
    }
    return sums;
  }

  rows(segment: Segment, plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
    return this.rowsOf([segment], plan, side, filter);
  }

  async rowsOf(segments: readonly Segment[], plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<NormalizedRow[]> {
    const rows = await this.query(segmentRowsSql(this.dialect, this.table, plan, side, segments, filter));
    const k = plan.key.length;
    return rows.map((r) => ({ key: r.slice(0, k).map(text), values: plan.columns.map((_, i) => text(r[k + i])) }));
  }

  async keyBounds(plan: ComparisonPlan, side: 'a' | 'b', filter?: RowFilter): Promise<{ lo: string; hi: string } | undefined> {
    const [row] = await this.query(keyBoundsSql(this.dialect, this.table, plan, side, filter));
    const lo = text(row?.[0]);
    const hi = text(row?.[1]);
    return lo === null || hi === null ? undefined : { lo, hi };
  }

  /** The session belongs to the snapshot that opened it: nothing to close here. */
  async close(): Promise<void> {}
}
