/**
 * One extraction chunk's columns, as the source handed them over, converted to what the Parquet
 * writer takes (each column's converter from lambdas/core/source-types.ts, chosen once per column)
 * and encoded: the work the Parquet encoder (./encoder.ts) does on its thread, or on the caller's.
 */
import type { SourceValue } from '../../core/source';
import { ValueError, ZERO_DATE, valueConverter, type MappedType } from '../../core/source-types';
import { encodeParquet, type EncodeParquetOptions, type ParquetColumnInput } from './encode';

/** A target column and the chunk's values of its source column, in row order. */
export interface ChunkColumn {
  readonly name: string;
  readonly type: MappedType;
  /** The source column is nullable: a MySQL zero date becomes NULL (else it is refused). */
  readonly nullable: boolean;
  /** `null` for a column the source no longer has (dropped): every row NULL. */
  readonly values: readonly SourceValue[] | null;
}

/** A chunk's Parquet file, and how many zero dates each column turned into NULL. */
export interface EncodedChunk {
  readonly body: Uint8Array;
  readonly zeroDates: Readonly<Record<string, number>>;
}

/** Why a value was refused: one its column cannot hold, or a zero date in a NOT NULL column. */
export type RefusedValue = { readonly kind: 'value'; readonly message: string; readonly advice?: string } | { readonly kind: 'zero-date' };

/** A value of the chunk that cannot be written; the extraction names table, column and key. */
export class ChunkValueError extends Error {
  override readonly name = 'ChunkValueError';
  constructor(
    /** Index into the chunk's columns. */
    readonly column: number,
    /** Index into the chunk's rows. */
    readonly row: number,
    readonly reason: RefusedValue,
  ) {
    super(reason.kind === 'value' ? reason.message : 'is a zero date in a NOT NULL column');
  }
}

/** Converts and encodes a chunk of `rows` rows (all columns that long). Throws ChunkValueError for the first value refused. */
export function encodeChunk(columns: readonly ChunkColumn[], rows: number, options: EncodeParquetOptions): EncodedChunk {
  const zeroDates: Record<string, number> = {};
  const inputs = columns.map((c, at): ParquetColumnInput => {
    const p = c.type.parquet;
    const data = c.values === null ? Array.from({ length: rows }, () => null) : convertValues(c, at, rows, zeroDates);
    return { name: c.name, type: p.type, precision: p.precision, scale: p.scale, adjustedToUtc: p.adjustedToUtc, nullable: true, data };
  });
  return { body: encodeParquet(inputs, options), zeroDates };
}

function convertValues(c: ChunkColumn, at: number, rows: number, zeroDates: Record<string, number>): unknown[] {
  const values = c.values!;
  if (values.length !== rows) throw new RangeError(`column '${c.name}' has ${values.length} values, expected ${rows}`);
  const convert = valueConverter(c.type);
  // Filled in order from empty, so the array stays packed (cheap to post to the encoder's thread).
  const data: unknown[] = [];
  let zeros = 0;
  let r = 0;
  try {
    for (; r < rows; r++) {
      const raw = values[r]!;
      if (raw === null) {
        data.push(null);
        continue;
      }
      const v = convert(raw);
      if (v === ZERO_DATE) {
        if (!c.nullable) throw new ChunkValueError(at, r, { kind: 'zero-date' });
        zeros++;
        data.push(null);
      } else data.push(v);
    }
  } catch (error) {
    if (error instanceof ValueError) throw new ChunkValueError(at, r, { kind: 'value', message: error.message, ...(error.advice ? { advice: error.advice } : {}) });
    throw error;
  }
  if (zeros > 0) zeroDates[c.name] = zeros;
  return data;
}
