import { appendFileSync } from 'node:fs';

/** One metric datapoint as CloudWatch extracts it from an EMF document. */
export interface MetricDatapoint {
  readonly namespace: string;
  readonly name: string;
  readonly unit?: string;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

interface EmfDocument {
  readonly _aws?: { readonly Timestamp?: number; readonly CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] };
  readonly [key: string]: unknown;
}

/**
 * What CloudWatch Logs makes of the stages' EMF output, locally: each document the stage handler
 * writes (in AWS, to stdout) is appended to a JSONL file as written, and read as CloudWatch reads
 * it, one datapoint per metric and dimension set (a value array is several datapoints).
 */
export class LocalMetrics {
  private readonly points: MetricDatapoint[] = [];
  private closed = false;

  /** `<dataDir>/metrics.jsonl`: the EMF documents, one per line. */
  constructor(private readonly file?: string) {}

  /** Takes one EMF document (the stage handler's output). */
  readonly write = (emf: Record<string, unknown>): void => {
    // A handler abandoned past its budget may still flush after the runtime stopped (its directory going).
    if (this.file && !this.closed) appendFileSync(this.file, `${JSON.stringify(emf)}\n`);
    this.points.push(...datapointsOf(emf as EmfDocument));
  };

  /** Stops appending to the file (the runtime is stopping); datapoints are still kept in memory. */
  close(): void {
    this.closed = true;
  }

  /** Datapoints of this process, oldest first; `filter` keeps those of a name and dimension values. */
  datapoints(filter: { readonly name?: string; readonly dimensions?: Readonly<Record<string, string>> } = {}): readonly MetricDatapoint[] {
    return this.points.filter((p) => (filter.name === undefined || p.name === filter.name) && Object.entries(filter.dimensions ?? {}).every(([k, v]) => p.dimensions[k] === v));
  }

  /** Sum of the values of {@link datapoints} (CloudWatch's Sum statistic over all time). */
  sum(filter: Parameters<LocalMetrics['datapoints']>[0] = {}): number {
    return this.datapoints(filter).reduce((s, p) => s + p.value, 0);
  }
}

/** The datapoints of one EMF document (CloudWatch's extraction rules, for the fields syncproof writes). */
export function datapointsOf(emf: EmfDocument): MetricDatapoint[] {
  const out: MetricDatapoint[] = [];
  const timestamp = emf._aws?.Timestamp ?? Date.now();
  for (const directive of emf._aws?.CloudWatchMetrics ?? []) {
    for (const metric of directive.Metrics) {
      const raw = emf[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
      for (const set of directive.Dimensions.length > 0 ? directive.Dimensions : [[]]) {
        const dimensions = Object.fromEntries(set.map((k) => [k, String(emf[k])]));
        for (const value of values) out.push({ namespace: directive.Namespace, name: metric.Name, ...(metric.Unit ? { unit: metric.Unit } : {}), value, dimensions, timestamp });
      }
    }
  }
  return out;
}
