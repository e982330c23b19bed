/**
 * `COPY … FROM 's3://…' [MANIFEST] FORMAT AS PARQUET` for the Postgres-family warehouses, the way
 * Redshift carries it out (DESIGN.md §4, §7): every file of the COPY (one object, or a manifest's
 * entries) is read from the ObjectStore **once, as it is at that moment** (no version pinning: an
 * object overwritten since discovery is read in its new version), decoded and streamed as CSV into
 * the table **by position**; a manifest entry's `mandatory` and `meta.content_length` are
 * enforced. Each file's rows, ETag and LastModified — those of the read — are recorded under the
 * COPY's query id in the load views (`sys_load_detail`, `stl_load_commits`), with `file_name` a
 * `character(256)` holding `s3://bucket/key` cut to 256 bytes, as Redshift's views declare it.
 *
 * The load views answer only what **committed**: the rows are written in the COPY's transaction
 * into tables the views read through a filter that hides the reading transaction's own rows, so a
 * statement after the COPY in the same transaction sees none of them, every other session sees
 * them once (and only if) the transaction commits, and a rolled-back COPY leaves none. A failure
 * names its file, line and column in `sys_load_error_detail` / `stl_load_errors`, written after the
 * rollback. A string into a SUPER (JSONB) column is stored as a JSON string, unparsed, as Redshift
 * stores it. `pg_last_copy_id()` answers the last COPY of the session. The views live in schema
 * `syncproof_system`; translateRedshiftSql points the unqualified Redshift names there.
 */
import { parquetMetadata, parquetSchema } from 'hyparquet';
import { BadFileError, TransientError, WarehouseStatementError } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import { parseCopyFromS3, quoteIdent, quoteLiteral, type ParsedCopyFromS3 } from '../core/sql';
import { parquetToCsv } from './parquet-file';

/** Schema of the emulated Redshift system views. */
export const SYSTEM_SCHEMA = 'syncproof_system';

/** Width of `file_name` / `filename` in Redshift's load views: `character(256)`. */
export const LOAD_VIEW_FILE_NAME_BYTES = 256;

/**
 * A value as a Redshift `character(256)` view column holds it: cut to 256 bytes (never inside a
 * UTF-8 character). Reading it back through TRIM gives this text.
 */
export function loadViewFileName(uri: string): string {
  const bytes = Buffer.from(uri, 'utf8');
  if (bytes.length <= LOAD_VIEW_FILE_NAME_BYTES) return uri;
  let end = LOAD_VIEW_FILE_NAME_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Rows of the current transaction are hidden from the load views (they appear at commit). */
const COMMITTED_ONLY = 'WHERE r.xmin::text::bigint IS DISTINCT FROM (txid_current_if_assigned() % 4294967296)';

/**
 * DDL of the emulated load views; idempotent. The per-file rows live in `load_detail_rows` /
 * `load_commits_rows` and are read through the views `sys_load_detail` / `stl_load_commits`,
 * which hide the rows of the reading transaction (see the module doc). A database made before the
 * views were strict (tables under the view names) is migrated.
 */
export const SYSTEM_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${SYSTEM_SCHEMA}`,
  `CREATE SEQUENCE IF NOT EXISTS ${SYSTEM_SCHEMA}.query_ids`,
  `CREATE TABLE IF NOT EXISTS ${SYSTEM_SCHEMA}.load_detail_rows (query_id BIGINT, file_name CHAR(256), bytes_scanned BIGINT, lines_scanned BIGINT, splits_scanned INTEGER, ` +
    'file_etag CHAR(256), file_last_modified TIMESTAMP, record_time TIMESTAMP)',
  `CREATE TABLE IF NOT EXISTS ${SYSTEM_SCHEMA}.load_commits_rows (query BIGINT, slice INTEGER, filename CHAR(256), curtime TIMESTAMP, lines_scanned BIGINT, status INTEGER)`,
  `DO $syncproof_migrate$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = '${SYSTEM_SCHEMA}' AND tablename = 'sys_load_detail') THEN
      INSERT INTO ${SYSTEM_SCHEMA}.load_detail_rows (query_id, file_name, bytes_scanned, lines_scanned, splits_scanned, file_etag, record_time)
        SELECT query_id, LEFT(file_name, 256), bytes_scanned, lines_scanned, splits_scanned, file_etag, record_time FROM ${SYSTEM_SCHEMA}.sys_load_detail;
      DROP TABLE ${SYSTEM_SCHEMA}.sys_load_detail;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = '${SYSTEM_SCHEMA}' AND tablename = 'stl_load_commits') THEN
      INSERT INTO ${SYSTEM_SCHEMA}.load_commits_rows SELECT query, slice, LEFT(filename, 256), curtime, lines_scanned, status FROM ${SYSTEM_SCHEMA}.stl_load_commits;
      DROP TABLE ${SYSTEM_SCHEMA}.stl_load_commits;
    END IF;
  END $syncproof_migrate$`,
  `CREATE OR REPLACE VIEW ${SYSTEM_SCHEMA}.sys_load_detail AS SELECT r.query_id, r.file_name, r.bytes_scanned, r.lines_scanned, r.splits_scanned, r.file_etag, r.file_last_modified, r.record_time ` +
    `FROM ${SYSTEM_SCHEMA}.load_detail_rows r ${COMMITTED_ONLY}`,
  `CREATE OR REPLACE VIEW ${SYSTEM_SCHEMA}.stl_load_commits AS SELECT r.query, r.slice, r.filename, r.curtime, r.lines_scanned, r.status FROM ${SYSTEM_SCHEMA}.load_commits_rows r ${COMMITTED_ONLY}`,
  `CREATE TABLE IF NOT EXISTS ${SYSTEM_SCHEMA}.sys_load_error_detail (query_id BIGINT, file_name VARCHAR(1280), line_number BIGINT, column_name VARCHAR(127), error_code INTEGER, error_message VARCHAR(512), start_time TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS ${SYSTEM_SCHEMA}.stl_load_errors (query BIGINT, filename VARCHAR(1280), line_number BIGINT, colname VARCHAR(127), err_code INTEGER, err_reason VARCHAR(512), starttime TIMESTAMP)`,
  // Redshift functions the content comparison uses (lambdas/core/content/dialects/redshift.ts):
  // STRTOL(text, 16) (other bases: NULL here) and TO_HEX(VARBYTE).
  `CREATE OR REPLACE FUNCTION public.strtol(num TEXT, base INTEGER) RETURNS BIGINT LANGUAGE sql IMMUTABLE STRICT AS ` +
    `$f$ SELECT CASE WHEN base = 16 THEN CAST(CAST('x' || LPAD(num, 16, '0') AS BIT(64)) AS BIGINT) END $f$`,
  `CREATE OR REPLACE FUNCTION public.to_hex(bytes BYTEA) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT ENCODE(bytes, 'hex') $f$`,
];

/** The session setting that holds `pg_last_copy_id()`. */
export const LAST_COPY_SETTING = 'syncproof.last_copy_id';

/** One connection's ability to run SQL and stream CSV (see postgres-warehouse.ts). */
export interface CopySession {
  query(sql: string, params?: readonly (string | number | null)[]): Promise<Record<string, unknown>[]>;
  execute(sql: string): Promise<unknown>;
  copyCsv(table: string, columns: readonly string[], chunks: AsyncIterable<Uint8Array>): Promise<void>;
}

interface CopyFile {
  readonly key: string;
  readonly mandatory: boolean;
  /** `meta.content_length` of a manifest entry. */
  readonly contentLength?: number;
  /** Positions of the target columns of type bytea (VARBYTE): un-annotated BYTE_ARRAY goes there as bytes, not text. */
  readonly byteaPositions: ReadonlySet<number>;
}

/** A file read and decoding, ready to stream. */
interface PreparedFile {
  readonly file: CopyFile;
  /** ETag and LastModified of the bytes read (the object's version at the moment of the read). */
  readonly etag: string;
  readonly lastModified: string;
  readonly bytes: number;
  readonly rows: number;
  readonly columns: readonly string[];
  readonly chunks: AsyncIterable<Uint8Array>;
}

/** A COPY statement of a transaction, parsed. */
export interface CopyStatement {
  readonly index: number;
  readonly copy: ParsedCopyFromS3;
}

/** The COPY statements among `statements`, by index. */
export function copyStatements(statements: readonly string[]): Map<number, ParsedCopyFromS3> {
  const out = new Map<number, ParsedCopyFromS3>();
  statements.forEach((st, i) => {
    const copy = parseCopyFromS3(st);
    if (copy) out.set(i, copy);
  });
  return out;
}

/** A COPY failure, with the query id under which its error rows are recorded. */
function copyFailure(index: number, queryId: number, key: string | undefined, message: string, cause?: unknown): WarehouseStatementError {
  return new WarehouseStatementError(
    `statement ${index} (COPY${key ? ` of s3 object '${key}'` : ''}) failed: ${message}; the transaction was rolled back`,
    index,
    { cause, queryId },
  );
}

/**
 * Reads, decodes and prefetches the files of a transaction's COPY statements in order, one file
 * ahead of the one being sent, so JavaScript's decoding overlaps the server's work.
 */
export class CopyExecutor {
  private readonly queue: { index: number; file: CopyFile }[] = [];
  private ahead: { index: number; file: CopyFile; prepared: Promise<PreparedFile> } | undefined;
  /** Error rows to write after ROLLBACK (they outlive the transaction, as Redshift's do). */
  readonly errorRows: { queryId: number; fileName: string; line: number | null; column: string | null; message: string }[] = [];

  constructor(
    private readonly objects: ObjectStore,
    private readonly prefetchBytes: number,
    /** Awaited before each object read of a COPY (local fault injection); absent otherwise. */
    private readonly beforeRead?: (key: string) => Promise<void>,
  ) {}

  /**
   * Runs COPY statement `index` on `session`: resolves its files (reading the manifest), streams
   * each into the table by position, records the load views, and sets `pg_last_copy_id()`.
   */
  async run(session: CopySession, index: number, copy: ParsedCopyFromS3): Promise<void> {
    const queryId = Number((await session.query(`SELECT nextval('${SYSTEM_SCHEMA}.query_ids') AS id`))[0]!.id);
    const fail = (key: string | undefined, message: string, cause?: unknown, line: number | null = null, column: string | null = null): WarehouseStatementError => {
      if (key !== undefined) this.errorRows.push({ queryId, fileName: `s3://${copy.bucket}/${key}`, line, column, message });
      return copyFailure(index, queryId, key, message, cause);
    };
    if (copy.bucket !== this.objects.bucket) {
      throw fail(undefined, `it reads bucket '${copy.bucket}', but this warehouse reads bucket '${this.objects.bucket}'; point the warehouse at the right bucket`);
    }
    if (copy.columns !== undefined) {
      // Redshift documents Parquet COPY as positional and no column list for it: refuse one rather than guess what it does.
      throw fail(undefined, `it names a column list (${copy.columns.join(', ')}); a Parquet COPY maps the file's columns to the table's by position and takes no column list: create the table in the file's column order`);
    }
    const table = await tableColumns(session, copy.table);
    const columns = table.map((c) => c.name);
    const typeOf = new Map(table.map((c) => [c.name, c.type]));
    const byteaPositions = new Set(columns.flatMap((name, i) => ((typeOf.get(name) ?? typeOf.get(name.toLowerCase())) === 'bytea' ? [i] : [])));
    const files = copy.manifest ? await this.manifestFiles(copy, byteaPositions, fail) : [{ key: copy.key, mandatory: true, byteaPositions }];
    // Redshift COPYs a Parquet string into a SUPER column as a SUPER string, never parsing it: the
    // files go through a shadow table whose JSONB (SUPER) columns are text, then in as JSON strings.
    const jsonb = new Set(columns.filter((name) => (typeOf.get(name) ?? typeOf.get(name.toLowerCase())) === 'jsonb'));
    const into = jsonb.size ? `syncproof_copy_${queryId}` : copy.table;
    if (jsonb.size) {
      const shadow = columns.map((c) => (jsonb.has(c) ? `CAST(NULL AS TEXT) AS ${quoteIdent(c)}` : quoteIdent(c))).join(', ');
      await session.execute(`CREATE TEMP TABLE ${into} AS SELECT ${shadow} FROM ${copy.table} WHERE false`);
    }
    for (const file of files) this.queue.push({ index, file });
    for (let n = 0; n < files.length; n++) {
      const prepared = await this.take(index, fail);
      if (!prepared) continue; // optional manifest entry that does not exist
      if (prepared.columns.length !== columns.length) {
        throw fail(prepared.file.key, `the file has ${prepared.columns.length} columns and table ${copy.table} has ${columns.length}; Parquet COPY maps columns by position and needs equal counts`);
      }
      try {
        await session.copyCsv(into, columns, prepared.chunks);
      } catch (error) {
        if (error instanceof TransientError) throw error;
        const e = error as { message?: string; where?: string };
        const line = /\bline (\d+)/.exec(e.where ?? '');
        const column = /\bcolumn (\w+)/.exec(e.where ?? '');
        throw fail(prepared.file.key, error instanceof Error ? error.message : String(error), error, line ? Number(line[1]) : null, column ? column[1]! : null);
      }
      // Written in this transaction, shown by the views only once it commits (see SYSTEM_DDL).
      const name = quoteLiteral(loadViewFileName(`s3://${copy.bucket}/${prepared.file.key}`));
      const modified = `CAST(${quoteLiteral(prepared.lastModified)} AS TIMESTAMPTZ) AT TIME ZONE 'UTC'`;
      await session.execute(
        `INSERT INTO ${SYSTEM_SCHEMA}.load_detail_rows VALUES (${queryId}, ${name}, ${prepared.bytes}, ${prepared.rows}, 1, ${quoteLiteral(prepared.etag)}, ${modified}, now() AT TIME ZONE 'UTC')`,
      );
      await session.execute(`INSERT INTO ${SYSTEM_SCHEMA}.load_commits_rows VALUES (${queryId}, 0, ${name}, now() AT TIME ZONE 'UTC', ${prepared.rows}, 0)`);
    }
    if (jsonb.size) {
      const values = columns.map((c) => (jsonb.has(c) ? `to_jsonb(${quoteIdent(c)})` : quoteIdent(c))).join(', ');
      await session.execute(`INSERT INTO ${copy.table} (${columns.map(quoteIdent).join(', ')}) SELECT ${values} FROM ${into}`);
      await session.execute(`DROP TABLE ${into}`);
    }
    // Redshift's COPY updates statistics of a table it fills (STATUPDATE); so does this one.
    await session.execute(`ANALYZE ${copy.table}`);
    // Transaction-local: a pooled connection's next transaction starts without it.
    await session.query(`SELECT set_config('${LAST_COPY_SETTING}', $1, true)`, [String(queryId)]);
  }

  /** Writes the error rows of failed COPYs (outside the rolled-back transaction). */
  async recordErrors(session: CopySession): Promise<void> {
    for (const r of this.errorRows.splice(0)) {
      const values = `${r.queryId}, ${quoteLiteral(r.fileName)}, ${r.line ?? 'NULL'}, ${r.column === null ? 'NULL' : quoteLiteral(r.column)}, 1200, ${quoteLiteral(r.message.slice(0, 512))}`;
      await session.execute(`INSERT INTO ${SYSTEM_SCHEMA}.sys_load_error_detail VALUES (${values}, now() AT TIME ZONE 'UTC')`);
      await session.execute(`INSERT INTO ${SYSTEM_SCHEMA}.stl_load_errors VALUES (${values}, now() AT TIME ZONE 'UTC')`);
    }
  }

  private async manifestFiles(
    copy: ParsedCopyFromS3,
    byteaPositions: ReadonlySet<number>,
    fail: (key: string | undefined, message: string, cause?: unknown) => Error,
  ): Promise<CopyFile[]> {
    let manifest: unknown;
    try {
      manifest = await this.objects.getJson(copy.key);
    } catch (error) {
      if (error instanceof TransientError) throw error;
      throw fail(undefined, `cannot read manifest s3://${copy.bucket}/${copy.key}: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    const entries = (manifest as { entries?: unknown })?.entries;
    if (!Array.isArray(entries)) throw fail(undefined, `manifest s3://${copy.bucket}/${copy.key} has no "entries" list`);
    return entries.map((raw, i) => {
      const e = raw as { url?: unknown; mandatory?: unknown; meta?: { content_length?: unknown } };
      const m = typeof e.url === 'string' ? /^s3:\/\/([^/]+)\/(.+)$/.exec(e.url) : null;
      if (!m || m[1] !== this.objects.bucket) throw fail(undefined, `manifest entry ${i} has url ${JSON.stringify(e.url)}, not an s3:// URL in bucket '${this.objects.bucket}'`);
      const length = e.meta?.content_length;
      // Redshift needs content_length for every Parquet manifest entry.
      if (typeof length !== 'number') throw fail(m[2], `manifest entry ${i} has no meta.content_length, which a Parquet COPY requires`);
      return { key: m[2]!, mandatory: e.mandatory === true, contentLength: length, byteaPositions };
    });
  }

  /** The next prepared file of statement `index` (starting the one after it). */
  private async take(index: number, fail: (key: string | undefined, message: string, cause?: unknown) => Error): Promise<PreparedFile | undefined> {
    const current = this.ahead ?? this.startNext();
    this.ahead = undefined;
    if (!current || current.index !== index) throw new Error(`COPY prefetch out of order at statement ${index}`);
    this.ahead = this.startNext();
    try {
      return await current.prepared;
    } catch (error) {
      if (error instanceof MissingOptionalFile) return undefined;
      if (error instanceof TransientError) throw error;
      const reason = error instanceof BadFileError ? error.reason : error instanceof Error ? error.message : String(error);
      throw fail(current.file.key, reason, error);
    }
  }

  private startNext(): { index: number; file: CopyFile; prepared: Promise<PreparedFile> } | undefined {
    const next = this.queue.shift();
    if (!next) return undefined;
    const prepared = this.prepare(next.file);
    prepared.catch(() => undefined); // observed when its turn comes
    return { ...next, prepared };
  }

  private async prepare(file: CopyFile): Promise<PreparedFile> {
    await this.beforeRead?.(file.key);
    // One read, of whatever the key holds now: its ETag and LastModified are what the views record.
    const read = await this.objects.getObject(file.key);
    if (!read) {
      if (!file.mandatory) throw new MissingOptionalFile();
      throw new BadFileError(file.key, 'the manifest marks it mandatory but it does not exist in S3');
    }
    const { bytes, summary } = read;
    if (file.contentLength !== undefined && bytes.byteLength !== file.contentLength) {
      throw new BadFileError(file.key, `it is ${bytes.byteLength} bytes but its manifest entry says content_length ${file.contentLength}: it changed since it was discovered`);
    }
    const names = fileColumns(file.key, bytes);
    const binaryColumns = names.filter((_, i) => file.byteaPositions.has(i));
    const csv = await parquetToCsv(file.key, bytes, names, { exactColumns: true, binaryColumns });
    return { file, etag: summary.etag, lastModified: summary.lastModified, bytes: bytes.byteLength, rows: csv.rowCount, columns: names, chunks: bufferAhead(csv.chunks, this.prefetchBytes) };
  }
}

class MissingOptionalFile extends Error {}

/** Top-level column names of a Parquet file, in file order. */
function fileColumns(key: string, bytes: Uint8Array): string[] {
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    return parquetSchema(parquetMetadata(buffer)).children.map((c) => c.element.name);
  } catch (error) {
    throw new BadFileError(key, `it is not a readable Parquet file (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

/** Columns of a (possibly temporary) table, in table order, with their type names (`bytea`, `integer`, …). */
async function tableColumns(session: CopySession, table: string): Promise<{ name: string; type: string }[]> {
  const rows = await session.query(
    'SELECT attname, format_type(atttypid, NULL) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [table],
  );
  return rows.map((r) => ({ name: String(r.attname), type: String(r.type) }));
}

/**
 * Starts pulling `source` now, whenever the event loop is free, keeping up to `maxBytes` ready;
 * the returned iterable yields the buffered chunks, then pulls the rest on demand. Errors surface
 * where the chunk would have been.
 */
export function bufferAhead(source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncIterable<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const ready: Promise<IteratorResult<Uint8Array>>[] = [];
  let buffered = 0;
  let done = false;
  const fill = async (): Promise<void> => {
    while (!done && buffered < maxBytes) {
      const step = it.next();
      ready.push(step);
      step.catch(() => undefined);
      let r: IteratorResult<Uint8Array>;
      try {
        r = await step;
      } catch {
        done = true;
        return;
      }
      if (r.done) done = true;
      else buffered += r.value.byteLength;
    }
  };
  void fill();
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const step = ready.shift();
        const r = await (step ?? (done ? Promise.resolve({ done: true, value: undefined }) : it.next()));
        if (r.done) return;
        buffered -= r.value.byteLength;
        yield r.value;
        if (step && !done && buffered < maxBytes && ready.length === 0) void fill();
      }
    },
  };
}
