/**
 * Figure 8 — cost (`BENCH_ONLY=cost`): what the production path costs at list prices, from the
 * usage metered in real local runs (lambdas/adapters/usage-meter.ts) priced by the cost core
 * (lambdas/core/cost.ts). Two runs on the local runtime, the burst path of figure 4:
 * - 8a: BENCH_COST_FILES (1,000) one-row objects uploaded as S3 events, trigger batches gathered
 *   for the stack's window → cost per 1,000 files;
 * - 8b: BENCH_COST_ROWS (1,000,000) rows in BENCH_COST_ROW_FILES (100) objects → cost per 1M rows.
 * Every assumption is printed with the figure.
 */
import { priceUsage, formatMicroUsd, type Cost } from '../lambdas/core/cost';
import { DEFAULT_PRICES, type Prices } from '../lambdas/core/prices';
import { addUsage, emptyUsage, type Usage } from '../lambdas/core/usage';
import type { ObjectStore } from '../lambdas/core/ports';
import { DEMO_DATASET, ordersFile } from '../local/demo';
import { LocalRuntime } from '../local/runtime';
import { functionBilling, synthesizeStack } from '../local/template';
import { localStackConfig } from '../local/runtime';

interface Metered {
  readonly files: number;
  readonly rows: number;
  /** Σ the run items' usage (each run's figures as its stages ADDed them). */
  readonly runs: Usage;
  /** The trigger's invocations: they belong to no run, so they are summed from the runtime's hook. */
  readonly trigger: Usage;
  readonly executions: number;
  /** Transitions the runner saw over the whole executions (the run items count up to Record). */
  readonly runnerTransitions: number;
  readonly seconds: number;
}

async function putAll(objects: ObjectStore, files: { key: string; body: Uint8Array }[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < files.length; i = next++) await objects.put(files[i]!.key, files[i]!.body);
    }),
  );
}

/** Uploads `files` as S3 events through the local runtime, waits for idle, reads every run item back and sums its usage. */
async function meteredBurst(files: { key: string; body: Uint8Array }[], rows: number, windowMs: number): Promise<Metered> {
  let trigger = emptyUsage();
  const runtime = await LocalRuntime.start({
    config: { datasets: [DEMO_DATASET], maxFilesPerBatch: 1000 },
    eventBatchingWindowMs: windowMs,
    onInvocationUsage: (stage, usage) => {
      if (stage === 'trigger') trigger = addUsage(trigger, usage);
    },
  });
  try {
    const t = process.hrtime.bigint();
    await putAll(runtime.deps.objects, files);
    await runtime.waitForIdle();
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const [r] = await (await runtime.warehouse()).query('SELECT COUNT(*) AS n FROM public.orders');
    if (Number(r?.n) !== rows) throw new Error(`cost bench: ${String(r?.n)} rows in the warehouse, expected ${rows}`);
    let runs = emptyUsage();
    for (const e of runtime.executions()) {
      const run = await runtime.deps.runs.get(e.name);
      if (run?.usage) runs = addUsage(runs, run.usage);
    }
    return { files: files.length, rows, runs, trigger, executions: runtime.executions().length, runnerTransitions: runtime.executions().reduce((n, e) => n + e.transitions, 0), seconds };
  } finally {
    await runtime.stop();
  }
}

const usd = (micro: number): string => `$${formatMicroUsd(Math.round(micro))}`;

function costLines(m: Metered, cost: Cost, per: number, perLabel: string, count: number): string[] {
  const out: string[] = [];
  for (const l of cost.lines) {
    if (l.quantity === null) {
      out.push(`    ${l.item.padEnd(34)} not measured (null)`);
      continue;
    }
    if (l.quantity === 0) continue;
    const q = Number.isInteger(l.quantity) ? l.quantity.toLocaleString('en-US') : l.quantity.toFixed(3);
    out.push(`    ${l.item.padEnd(34)} ${q.padStart(12)} ${l.unit.padEnd(10)} × $${l.unitPrice} per ${l.per.padEnd(32)} ${usd(((l.microUsd ?? 0) * per) / count).padStart(12)} ${perLabel}${l.estimate ? `  (estimate: ${l.estimate})` : ''}`);
  }
  out.push(`    ${'total'.padEnd(34)} ${usd(cost.totalMicroUsd).padStart(12)} for the run  →  ${usd((cost.totalMicroUsd * per) / count)} ${perLabel}`);
  out.push(`    (${m.executions} executions, ${m.seconds.toFixed(1)} s first PUT to idle; transitions: the run items count up to each Record state, ${m.runs.sfnTransitions ?? 0}; the runner saw ${m.runnerTransitions} in all)`);
  return out;
}

function assumptions(prices: Prices, cost: Cost): string[] {
  const billing = functionBilling(synthesizeStack(localStackConfig({ datasets: [DEMO_DATASET], maxFilesPerBatch: 1000 })).template);
  const memory = [...new Set([...billing.values()].map((b) => `${b.memoryMb} MB ${b.architecture}`))].join(', ');
  return [
    `  assumptions:`,
    `    region and prices       ${prices.region} list prices as of 2026 (lambdas/core/prices.ts): Step Functions $${prices.sfnPer1kTransitions}/1k transitions; Lambda arm64 $${prices.lambdaArm64PerGbSecond}/GB-s, x86 $${prices.lambdaX86PerGbSecond}/GB-s, $${prices.lambdaPer1mRequests}/1M requests;`,
    `                            DynamoDB on-demand $${prices.dynamoPer1mReadUnits}/1M RRU, $${prices.dynamoPer1mWriteUnits}/1M WRU; S3 $${prices.s3Per1kPutClass}/1k PUT-class, $${prices.s3Per1kGetClass}/1k GET-class; Redshift Serverless $${prices.redshiftPerRpuHour}/RPU-hour; Data API free`,
    `    Lambda memory           the stack's stage functions: ${memory}; billed duration = handler time on this machine rounded up to 1 ms (no cold-start INIT; AWS hardware differs)`,
    `    measured                S3 requests by class and DynamoDB units (as DynamoDB reported them, ReturnConsumedCapacity) at the stages' SDK clients; Data API submissions; Lambda invocations and handler time; transitions from the runner's history`,
    `    estimated               the usage ADD per invocation as 1 WRU; DynamoDB requests that reported no capacity (refused conditional writes) as the on-demand minimum`,
    `    not in the figure       ${cost.unmeasured.join(', ')} (the Data API reports no RPU-seconds: a Serverless workgroup bills ≥ 60 s per active period);`,
    `                            Redshift COPY's own S3 GETs (≈ 1 per file + 1 manifest per load), SQS and EventBridge requests, CloudWatch Logs, S3 storage, data transfer`,
  ];
}

/** Figure 8: cost per 1,000 files (burst of one-row objects) and per 1M rows, at `prices`. */
export async function benchCost(prices: Prices = DEFAULT_PRICES): Promise<string[]> {
  const fileCount = Number(process.env.BENCH_COST_FILES ?? 1000);
  const rowCount = Number(process.env.BENCH_COST_ROWS ?? 1_000_000);
  const rowFiles = Number(process.env.BENCH_COST_ROW_FILES ?? 100);
  const windowMs = Number(process.env.BENCH_BURST_WINDOW_MS ?? 20_000);

  const burst = await meteredBurst(
    Array.from({ length: fileCount }, (_, i) => ({ key: `orders/burst/f-${String(i).padStart(6, '0')}.parquet`, body: ordersFile([i + 1], 0, 'new') })),
    fileCount,
    windowMs,
  );
  const perFile = Math.ceil(rowCount / rowFiles);
  const rowsRun = await meteredBurst(
    Array.from({ length: rowFiles }, (_, f) => {
      const from = f * perFile + 1;
      const ids = Array.from({ length: Math.max(0, Math.min(perFile, rowCount - from + 1)) }, (_, i) => from + i);
      return { key: `orders/rows/part-${String(f).padStart(4, '0')}.parquet`, body: ordersFile(ids, 0, 'new') };
    }),
    rowCount,
    windowMs,
  );
  const burstCost = priceUsage(addUsage(burst.runs, burst.trigger), prices);
  const rowsCost = priceUsage(addUsage(rowsRun.runs, rowsRun.trigger), prices);
  return [
    `cost at list prices, from the usage metered in local runs of the burst path (S3 events → trigger batches within ${windowMs / 1000} s → SyncStateMachine over the local Data API on PGlite), priced by lambdas/core/cost.ts:`,
    `  8a: ${fileCount} one-row objects                                     → ${usd((burstCost.totalMicroUsd * 1000) / fileCount)} per 1,000 files`,
    ...costLines(burst, burstCost, 1000, 'per 1,000 files', fileCount),
    `  8b: ${rowCount.toLocaleString('en-US')} rows in ${rowFiles} objects                          → ${usd((rowsCost.totalMicroUsd * 1_000_000) / rowCount)} per 1M rows (${usd((rowsCost.totalMicroUsd * 1000) / rowFiles)} per 1,000 files of ${perFile.toLocaleString('en-US')} rows)`,
    ...costLines(rowsRun, rowsCost, 1_000_000, 'per 1M rows', rowCount),
    ...assumptions(prices, burstCost),
  ];
}
