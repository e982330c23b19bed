import { z } from 'zod';

const price = z.number().min(0).max(1000);

/**
 * List prices in USD that syncproof prices a run's usage at (the `prices` block of the stack
 * configuration). Defaults: us-east-1 list prices as of 2026, each from the AWS pricing page named
 * beside it. Another region or a negotiated rate: set the field. Unknown keys are refused.
 */
export const pricesSchema = z.strictObject({
  /** The region these prices are for (printed beside every cost; not checked). @default 'us-east-1' */
  region: z.string().min(1).default('us-east-1'),
  /** Step Functions Standard workflows, per 1,000 state transitions (aws.amazon.com/step-functions/pricing). @default 0.025 */
  sfnPer1kTransitions: price.default(0.025),
  /** Lambda, arm64, per GB-second (aws.amazon.com/lambda/pricing, first 6 billion GB-s a month). @default 0.0000133334 */
  lambdaArm64PerGbSecond: price.default(0.0000133334),
  /** Lambda, x86_64, per GB-second (aws.amazon.com/lambda/pricing, first 6 billion GB-s a month). @default 0.0000166667 */
  lambdaX86PerGbSecond: price.default(0.0000166667),
  /** Lambda, per 1 million requests (aws.amazon.com/lambda/pricing). @default 0.20 */
  lambdaPer1mRequests: price.default(0.2),
  /** DynamoDB on-demand, per million read request units (aws.amazon.com/dynamodb/pricing/on-demand, since the November 2024 cut). @default 0.125 */
  dynamoPer1mReadUnits: price.default(0.125),
  /** DynamoDB on-demand, per million write request units (aws.amazon.com/dynamodb/pricing/on-demand, since the November 2024 cut). @default 0.625 */
  dynamoPer1mWriteUnits: price.default(0.625),
  /** S3 Standard PUT, COPY, POST, LIST requests, per 1,000 (aws.amazon.com/s3/pricing). @default 0.005 */
  s3Per1kPutClass: price.default(0.005),
  /** S3 Standard GET, SELECT and other requests, per 1,000 (aws.amazon.com/s3/pricing). @default 0.0004 */
  s3Per1kGetClass: price.default(0.0004),
  /** Redshift Serverless, per RPU-hour (aws.amazon.com/redshift/pricing; the Data API itself is free). @default 0.375 */
  redshiftPerRpuHour: price.default(0.375),
});

export type Prices = z.infer<typeof pricesSchema>;
export type PricesInput = z.input<typeof pricesSchema>;

/** The 2026 us-east-1 list prices (every default of {@link pricesSchema}). */
export const DEFAULT_PRICES: Prices = pricesSchema.parse({});

/** The prices of a configuration: its `prices` block over the defaults. */
export function pricesOf(config: { readonly prices?: PricesInput }): Prices {
  return pricesSchema.parse(config.prices ?? {});
}
