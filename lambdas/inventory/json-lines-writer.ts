import type { ObjectStore } from '../core/ports';

/** Lines per part object by default: about 1 MB of findings. */
export const DEFAULT_LINES_PER_PART = 5000;

/**
 * Writes JSON Lines to S3 without holding them all: lines gather in a buffer of at most
 * `linesPerPart`, which is written as `<base>/part-0001.jsonl`, `part-0002.jsonl`, … (memory is
 * O(linesPerPart), whatever the number of lines). Nothing is written when no line was added.
 */
export class JsonLinesPartWriter {
  private buffer: string[] = [];
  private readonly partKeys: string[] = [];
  private lineCount = 0;

  constructor(
    private readonly objects: ObjectStore,
    /** Key prefix of the parts, without a trailing slash. */
    private readonly base: string,
    private readonly linesPerPart: number = DEFAULT_LINES_PER_PART,
  ) {
    if (!Number.isInteger(linesPerPart) || linesPerPart < 1) throw new Error(`linesPerPart must be a whole number >= 1, got ${linesPerPart}`);
  }

  /** Appends one line; writes a part when the buffer is full (awaiting the write bounds memory). */
  async add(value: unknown): Promise<void> {
    this.buffer.push(JSON.stringify(value));
    this.lineCount += 1;
    if (this.buffer.length >= this.linesPerPart) await this.flush();
  }

  /** Writes what is buffered; returns the keys of every part written, in order. */
  async close(): Promise<readonly string[]> {
    await this.flush();
    return this.partKeys;
  }

  get lines(): number {
    return this.lineCount;
  }

  get parts(): readonly string[] {
    return this.partKeys;
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const key = `${this.base}/part-${String(this.partKeys.length + 1).padStart(4, '0')}.jsonl`;
    const body = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    await this.objects.put(key, body, 'application/x-ndjson');
    this.partKeys.push(key);
  }
}
