import type { ObjectStore } from '../core/ports';
import type { FileInfo, FileInspector, FileValue } from '../core/stage-deps';
import { decodeParquet, readParquetInfo } from './parquet-file';

/** FileInspector for Parquet objects: the footer through ranged reads; column values from the whole object. */
export class ParquetInspector implements FileInspector {
  constructor(private readonly objects: ObjectStore) {}

  async inspect(key: string, size: number, etag?: string): Promise<FileInfo> {
    const info = await readParquetInfo(this.objects, key, size, etag);
    return { rows: info.rows, columns: info.columns.map((c) => ({ name: c.name, type: c.type })) };
  }

  async columnValues(key: string, etag: string, positions: readonly number[]): Promise<FileValue[][]> {
    const decoded = await decodeParquet(key, await this.objects.getBytes(key, undefined, { ifMatch: etag }));
    const columns = positions.map((p) => {
      const column = decoded.data[p];
      if (!column) throw new RangeError(`'${key}' has ${decoded.columns.length} columns, no column ${p + 1}`);
      return column;
    });
    return Array.from({ length: decoded.rowCount }, (_, r) => columns.map((column) => column[r]!));
  }
}
