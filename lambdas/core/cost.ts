import type { RunRecord } from './ports';
import type { Prices } from './prices';
import { emptyUsage, type Usage } from './usage';

/** One priced figure of a run's usage. */
export interface CostLine {
  /** What is billed: `Step Functions state transitions`, `Lambda GB-seconds (arm64)`, … */
  readonly item: string;
  /** The usage figure, in {@link unit}; `null` when nobody could measure it (then so is the cost). */
  readonly quantity: number | null;
  readonly unit: string;
  /** The list price applied, in USD per {@link per}. */
  readonly unitPrice: number;
  readonly per: string;
  /** The line's cost in integer micro-dollars (USD × 10⁶), rounded half up once, from exact integer arithmetic. */
  readonly microUsd: number | null;
  /** Set when the quantity is an estimate, with what it assumes. */
  readonly estimate?: string;
}

/** A run's cost at list prices. */
export interface Cost {
  /** The region the prices are for. */
  readonly region: string;
  readonly lines: readonly CostLine[];
  /** Σ of the lines' micro-dollars (lines with no quantity count 0). */
  readonly totalMicroUsd: number;
  /** {@link totalMicroUsd} as dollars with 6 decimals, e.g. `0.012345`. */
  readonly totalUsd: string;
  /** Figures nobody could measure, so not in the total (e.g. Redshift Serverless RPU-seconds). */
  readonly unmeasured: readonly string[];
}

const PICO_PER_MICRO = 1_000_000n;

/** A USD price as integer pico-dollars (10⁻¹² USD): list prices have at most 10 decimals. */
function pico(usd: number): bigint {
  return BigInt(Math.round(usd * 1e12));
}

/** `numerator / denominator` rounded half up, for non-negative integers. */
function roundDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}

interface LineSpec {
  readonly item: string;
  readonly quantity: number | null;
  readonly unit: string;
  readonly unitPrice: number;
  readonly per: string;
  /** The quantity scaled to an integer (×`scale`), and how many scaled units one `per` is. */
  readonly scale: number;
  readonly perUnits: bigint;
  readonly estimate?: string;
}

function priceLine(s: LineSpec): CostLine {
  const base = { item: s.item, quantity: s.quantity, unit: s.unit, unitPrice: s.unitPrice, per: s.per, ...(s.estimate ? { estimate: s.estimate } : {}) };
  if (s.quantity === null) return { ...base, microUsd: null };
  const scaled = BigInt(Math.round(s.quantity * s.scale));
  const picoUsd = roundDiv(scaled * pico(s.unitPrice), s.perUnits);
  return { ...base, microUsd: Number(roundDiv(picoUsd, PICO_PER_MICRO)) };
}

/** Integer micro-dollars as `d.dddddd`. */
export function formatMicroUsd(micro: number): string {
  const sign = micro < 0 ? '-' : '';
  const abs = Math.abs(micro);
  return `${sign}${Math.floor(abs / 1e6)}.${String(abs % 1e6).padStart(6, '0')}`;
}

/**
 * Prices `usage` at `prices`: one line per billed figure, each line's micro-dollars from exact
 * integer arithmetic (prices as integer pico-dollars, quantities as integers: ½ RRU steps, MB-ms,
 * milli-RPU-seconds), rounded once; the total is the sum of the lines, so the lines always add up.
 * Lambda GB-seconds are MB-ms ÷ 1,024,000 (1 GB = 1,024 MB, as Lambda bills memory).
 */
export function priceUsage(usage: Usage, prices: Prices): Cost {
  const lines = [
    priceLine({ item: 'Step Functions state transitions', quantity: usage.sfnTransitions, unit: 'transitions', unitPrice: prices.sfnPer1kTransitions, per: '1,000 transitions', scale: 1, perUnits: 1000n }),
    priceLine({ item: 'Lambda requests', quantity: usage.lambdaRequests, unit: 'requests', unitPrice: prices.lambdaPer1mRequests, per: '1M requests', scale: 1, perUnits: 1_000_000n }),
    priceLine({ item: 'Lambda compute (arm64)', quantity: usage.lambdaArm64MbMs / 1_024_000, unit: 'GB-s', unitPrice: prices.lambdaArm64PerGbSecond, per: 'GB-s', scale: 1_024_000, perUnits: 1_024_000n }),
    priceLine({ item: 'Lambda compute (x86_64)', quantity: usage.lambdaX86MbMs / 1_024_000, unit: 'GB-s', unitPrice: prices.lambdaX86PerGbSecond, per: 'GB-s', scale: 1_024_000, perUnits: 1_024_000n }),
    priceLine({ item: 'DynamoDB reads', quantity: usage.dynamoReadUnits, unit: 'RRU', unitPrice: prices.dynamoPer1mReadUnits, per: '1M RRU', scale: 2, perUnits: 2_000_000n, ...(usage.dynamoUnreported > 0 ? { estimate: `${usage.dynamoUnreported} requests reported no capacity and count as the on-demand minimum` } : {}) }),
    priceLine({ item: 'DynamoDB writes', quantity: usage.dynamoWriteUnits, unit: 'WRU', unitPrice: prices.dynamoPer1mWriteUnits, per: '1M WRU', scale: 2, perUnits: 2_000_000n, ...(usage.dynamoUnreported > 0 ? { estimate: `${usage.dynamoUnreported} requests reported no capacity and count as the on-demand minimum` } : {}) }),
    priceLine({ item: 'DynamoDB usage-record writes', quantity: usage.dynamoUsageWrites, unit: 'WRU', unitPrice: prices.dynamoPer1mWriteUnits, per: '1M WRU', scale: 2, perUnits: 2_000_000n, estimate: '1 WRU per invocation\'s usage ADD (more when the run item is over 1 KB)' }),
    priceLine({ item: 'S3 PUT/COPY/POST/LIST requests', quantity: usage.s3PutClass, unit: 'requests', unitPrice: prices.s3Per1kPutClass, per: '1,000 requests', scale: 1, perUnits: 1000n }),
    priceLine({ item: 'S3 GET/HEAD requests', quantity: usage.s3GetClass, unit: 'requests', unitPrice: prices.s3Per1kGetClass, per: '1,000 requests', scale: 1, perUnits: 1000n }),
    priceLine({ item: 'Redshift Data API statements', quantity: usage.dataApiStatements, unit: 'statements', unitPrice: 0, per: 'statement (the Data API is free)', scale: 1, perUnits: 1n }),
    priceLine({ item: 'Redshift Serverless compute', quantity: usage.redshiftRpuSeconds === null ? null : usage.redshiftRpuSeconds / 3600, unit: 'RPU-hours', unitPrice: prices.redshiftPerRpuHour, per: 'RPU-hour', scale: 3_600_000, perUnits: 3_600_000n }),
  ];
  const totalMicroUsd = lines.reduce((sum, l) => sum + (l.microUsd ?? 0), 0);
  const unmeasured = lines.filter((l) => l.quantity === null).map((l) => l.item);
  return { region: prices.region, lines, totalMicroUsd, totalUsd: formatMicroUsd(totalMicroUsd), unmeasured };
}

/**
 * A run's usage and its cost at `prices` (`pricesOf(config)`, lambdas/core/prices.ts): what
 * `syncproof runs` and `syncproof status` show. A run recorded before usage was metered has
 * empty usage. The cost is priced when asked, from the run item's figures as they are then, so it
 * includes the Record stage's own invocation (which adds its figures after it ran).
 */
export function runUsageAndCost(run: RunRecord, prices: Prices): { readonly usage: Usage; readonly cost: Cost } {
  const usage = run.usage ?? emptyUsage();
  return { usage, cost: priceUsage(usage, prices) };
}
