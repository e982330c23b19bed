import { AsyncLocalStorage } from 'node:async_hooks';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSIONS, METRIC_NAMESPACE, METRIC_SERVICE, METRIC_UNITS, METRICS, type MetricName } from '../core/metric-names';
import type { MetricSink } from '../core/ports';

/** Where an invocation's EMF documents go: stdout in AWS (CloudWatch Logs extracts the metrics). */
export type EmfOutput = (emf: Record<string, unknown>) => void;

/** Lambda's stdout, one JSON document per line (what Powertools' publishStoredMetrics writes). */
export const stdoutEmf: EmfOutput = (emf) => {
  process.stdout.write(`${JSON.stringify(emf)}\n`);
};

/**
 * One stage invocation's metrics, through Powertools Metrics (its EMF serialization, units and
 * limits): namespace `syncproof`, dimensions `service` and `dataset`; DurationMs also `stage`, in
 * a document of its own (an EMF document has one dimension set for all its metrics). Values of
 * one name add up until {@link flush}.
 */
export class InvocationMetrics implements MetricSink {
  private readonly values = new Map<MetricName, number>();

  constructor(
    private readonly stage: string,
    private readonly dataset: string,
    private readonly output: EmfOutput = stdoutEmf,
  ) {}

  add(name: MetricName, value: number): void {
    if (!Number.isFinite(value)) return;
    this.values.set(name, (this.values.get(name) ?? 0) + value);
  }

  /** Writes what was added (and `durationMs` under the stage dimension), then forgets it. */
  flush(durationMs: number): void {
    const main = this.metrics({ [METRIC_DIMENSIONS.dataset]: this.dataset });
    for (const [name, value] of this.values) main.addMetric(name, MetricUnit[METRIC_UNITS[name]], value);
    this.values.clear();
    if (main.hasStoredMetrics()) this.output(main.serializeMetrics() as unknown as Record<string, unknown>);
    const timed = this.metrics({ [METRIC_DIMENSIONS.dataset]: this.dataset, [METRIC_DIMENSIONS.stage]: this.stage });
    timed.addMetric(METRICS.durationMs, MetricUnit.Milliseconds, Math.max(0, Math.round(durationMs)));
    this.output(timed.serializeMetrics() as unknown as Record<string, unknown>);
  }

  private metrics(dimensions: Record<string, string>): Metrics {
    return new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE, defaultDimensions: dimensions });
  }
}

const current = new AsyncLocalStorage<MetricSink>();

/** Runs `fn` with `sink` as the invocation's metric sink for adapters ({@link countInvocation}). */
export function withInvocationMetrics<T>(sink: MetricSink, fn: () => Promise<T>): Promise<T> {
  return current.run(sink, fn);
}

/**
 * Adds to the metrics of the stage invocation this call runs in, if any: for adapters shared by
 * concurrent invocations (one warehouse client per function), which cannot hold a sink of their own.
 */
export function countInvocation(name: MetricName, value = 1): void {
  current.getStore()?.add(name, value);
}
