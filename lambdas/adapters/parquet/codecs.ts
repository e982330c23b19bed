/**
 * Parquet compression codecs: which ones the JS decoder reads, and a footer check that refuses
 * the others with an exact reason before any page is decoded.
 *
 * UNCOMPRESSED and SNAPPY are hyparquet's own (its pure-JS snappy is the measured hot path of
 * the COPY); GZIP, BROTLI, ZSTD, LZ4 (Hadoop framing, with hyparquet-compressors' fallback to a
 * bare block) and LZ4_RAW come from hyparquet-compressors (pure JS). LZO has no JS decoder.
 */
import type { CompressionCodec, Compressors, FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { BadFileError } from '../../core/errors';

/** Every codec {@link DECOMPRESSORS} (with hyparquet's built-ins) decodes, in Parquet enum order. */
export const SUPPORTED_CODECS: readonly CompressionCodec[] = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'];

/**
 * Decompressors to pass as hyparquet's `compressors` option. SNAPPY is left out on purpose so
 * that hyparquet keeps its built-in decoder for it.
 */
export const DECOMPRESSORS: Compressors = {
  GZIP: compressors.GZIP!,
  BROTLI: compressors.BROTLI!,
  ZSTD: compressors.ZSTD!,
  LZ4: compressors.LZ4!,
  LZ4_RAW: compressors.LZ4_RAW!,
};

const REWRITE =
  "rewrite the file with a supported compression, ZSTD or SNAPPY for example (DuckDB: COPY ... (FORMAT parquet, COMPRESSION zstd); " +
  "pyarrow: write_table(..., compression='zstd'); Spark: spark.sql.parquet.compression.codec=zstd), and upload it again";

/**
 * Throws BadFileError(key, reason) when a column chunk of one of `columns` (top-level names; all
 * columns when omitted) is compressed with a codec that cannot be decoded (LZO) or that the
 * footer does not name (an enum value outside the Parquet format). The reason names the codec
 * and the columns and says how to rewrite the file; it is decided from the footer alone, so a
 * file is never called corrupt for a codec it merely uses.
 */
export function checkCodecs(key: string, metadata: FileMetaData, columns?: readonly string[]): void {
  const wanted = columns ? new Set(columns) : undefined;
  /** Refused codec (undefined: an enum value hyparquet does not know) → the columns using it. */
  const refused = new Map<CompressionCodec | undefined, Set<string>>();
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (!meta || (wanted && !wanted.has(meta.path_in_schema[0] ?? ''))) continue;
      const codec = meta.codec as CompressionCodec | undefined;
      if (codec !== undefined && SUPPORTED_CODECS.includes(codec)) continue;
      const names = refused.get(codec) ?? new Set<string>();
      refused.set(codec, names.add(meta.path_in_schema.join('.')));
    }
  }
  for (const [codec, names] of refused) {
    const list = [...names].map((n) => `'${n}'`).join(', ');
    const what = codec === undefined ? 'an unknown compression codec (not one the Parquet format defines)' : `${codec} compression`;
    throw new BadFileError(
      key,
      `column${names.size > 1 ? 's' : ''} ${list} ${names.size > 1 ? 'use' : 'uses'} ${what}, which syncproof's Parquet decoder ` +
        `does not support (it reads ${SUPPORTED_CODECS.join(', ')}); ${REWRITE}`,
    );
  }
}
