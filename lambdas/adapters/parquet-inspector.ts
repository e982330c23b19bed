import type { ObjectStore } from '../core/ports';
import type { FileInfo, FileInspector } from '../core/stage-deps';
import { readParquetInfo } from './parquet-file';

/** FileInspector for Parquet objects: footer only, through ranged reads. */
export class ParquetInspector implements FileInspector {
  constructor(private readonly objects: ObjectStore) {}

  async inspect(key: string, size: number, etag?: string): Promise<FileInfo> {
    const info = await readParquetInfo(this.objects, key, size, etag);
    return { rows: info.rows, columns: info.columns.map((c) => ({ name: c.name, type: c.type })) };
  }
}
