import { ConfigurationError } from '../../lambdas/core/errors';
import { parseConfig } from '../../lambdas/core/config';
import { formatMicroUsd, priceUsage, runUsageAndCost } from '../../lambdas/core/cost';
import { DEFAULT_PRICES, pricesOf, type Prices } from '../../lambdas/core/prices';
import { addUsage, emptyUsage, usageDelta, usageOf, type Usage } from '../../lambdas/core/usage';

const usage = (figures: Partial<Usage>): Usage => ({ ...emptyUsage(), ...figures });
const lineOf = (u: Usage, item: string, prices: Prices = DEFAULT_PRICES) => priceUsage(u, prices).lines.find((l) => l.item === item);

describe('priceUsage at the default us-east-1 list prices', () => {
  it.each([
    // [what, usage, line item, quantity, micro-dollars]
    ['1,000 transitions at $0.025 per 1,000', { sfnTransitions: 1000 }, 'Step Functions state transitions', 1000, 25_000],
    ['1 GB-s of arm64 (1,024 MB × 1,000 ms)', { lambdaArm64MbMs: 1_024_000 }, 'Lambda compute (arm64)', 1, 13],
    ['3,008 MB × 2,500 ms of arm64 = 7.34375 GB-s', { lambdaArm64MbMs: 7_520_000 }, 'Lambda compute (arm64)', 7.34375, 98],
    ['1 GB-s of x86_64', { lambdaX86MbMs: 1_024_000 }, 'Lambda compute (x86_64)', 1, 17],
    ['1M requests at $0.20', { lambdaRequests: 1_000_000 }, 'Lambda requests', 1_000_000, 200_000],
    ['½ RRU (one eventually consistent read) rounds to 0', { dynamoReadUnits: 0.5 }, 'DynamoDB reads', 0.5, 0],
    ['3,000,000.5 RRU', { dynamoReadUnits: 3_000_000.5 }, 'DynamoDB reads', 3_000_000.5, 375_000],
    ['1M WRU at $0.625', { dynamoWriteUnits: 1_000_000 }, 'DynamoDB writes', 1_000_000, 625_000],
    ['1,000 PUT-class requests at $0.005 per 1,000', { s3PutClass: 1000 }, 'S3 PUT/COPY/POST/LIST requests', 1000, 5000],
    ['1,250 GET-class requests at $0.0004 per 1,000', { s3GetClass: 1250 }, 'S3 GET/HEAD requests', 1250, 500],
    ['Data API statements are free', { dataApiStatements: 5000 }, 'Redshift Data API statements', 5000, 0],
    ['3,600 RPU-seconds at $0.375 per RPU-hour', { redshiftRpuSeconds: 3600 }, 'Redshift Serverless compute', 1, 375_000],
  ] as const)('%s', (_what, figures, item, quantity, micro) => {
    const line = lineOf(usage(figures), item);
    expect(line?.quantity).toBe(quantity);
    expect(line?.microUsd).toBe(micro);
  });

  it('prices what nobody measured as null and leaves it out of the total', () => {
    const cost = priceUsage(usage({ s3PutClass: 1000 }), DEFAULT_PRICES);
    expect(lineOf(usage({}), 'Redshift Serverless compute')).toMatchObject({ quantity: null, microUsd: null });
    expect(cost.unmeasured).toEqual(['Step Functions state transitions', 'Redshift Serverless compute']);
    expect(cost.totalMicroUsd).toBe(5000);
  });

  it('labels the usage-record writes and unreported DynamoDB requests as estimates', () => {
    const cost = priceUsage(usage({ dynamoUsageWrites: 4, dynamoUnreported: 2, dynamoWriteUnits: 10 }), DEFAULT_PRICES);
    expect(cost.lines.find((l) => l.item === 'DynamoDB usage-record writes')?.estimate).toMatch(/1 WRU per invocation/);
    expect(cost.lines.find((l) => l.item === 'DynamoDB writes')?.estimate).toMatch(/2 requests reported no capacity/);
    expect(priceUsage(usage({ dynamoWriteUnits: 10 }), DEFAULT_PRICES).lines.find((l) => l.item === 'DynamoDB writes')?.estimate).toBeUndefined();
  });
});

describe('priceUsage arithmetic', () => {
  it.each([
    // [what, prices, usage, total micro-dollars, total text]
    ['rounds half a micro-dollar up', { s3Per1kPutClass: 0.0015 }, { s3PutClass: 1 }, 2, '0.000002'],
    ['adds $0.10 and $0.20 to exactly $0.30 (no float drift)', { s3Per1kPutClass: 0.1, s3Per1kGetClass: 0.2 }, { s3PutClass: 1000, s3GetClass: 1000 }, 300_000, '0.300000'],
    ['keeps ten-decimal prices exact: 1,000 GB-s at $0.0000166667', {}, { lambdaX86MbMs: 1_024_000_000 }, 16_667, '0.016667'],
    ['sums a run of every kind', {}, { sfnTransitions: 20, lambdaRequests: 10, lambdaArm64MbMs: 10_240_000, dynamoReadUnits: 40, dynamoWriteUnits: 30, s3PutClass: 12, s3GetClass: 50 }, 500 + 2 + 133 + 5 + 19 + 60 + 20, '0.000739'],
  ] as const)('%s', (_what, prices, figures, micro, text) => {
    const cost = priceUsage(usage(figures), pricesOf({ prices }));
    expect(cost.totalMicroUsd).toBe(micro);
    expect(cost.totalUsd).toBe(text);
    expect(cost.lines.reduce((n, l) => n + (l.microUsd ?? 0), 0)).toBe(cost.totalMicroUsd);
  });

  it.each([
    [0, '0.000000'],
    [1, '0.000001'],
    [1_234_567, '1.234567'],
    [-5, '-0.000005'],
  ])('formats %i micro-dollars as %s', (micro, text) => {
    expect(formatMicroUsd(micro)).toBe(text);
  });
});

describe('prices in the configuration', () => {
  const dataset = { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['order_id'] };

  it('defaults every price to the us-east-1 list price and overrides only what is set', () => {
    const config = parseConfig({ datasets: [dataset], prices: { region: 'eu-west-1', s3Per1kPutClass: 0.0054 } });
    expect(pricesOf(config)).toEqual({ ...DEFAULT_PRICES, region: 'eu-west-1', s3Per1kPutClass: 0.0054 });
    expect(pricesOf(parseConfig({ datasets: [dataset] }))).toEqual(DEFAULT_PRICES);
    expect(DEFAULT_PRICES).toMatchObject({ region: 'us-east-1', sfnPer1kTransitions: 0.025, lambdaArm64PerGbSecond: 0.0000133334, dynamoPer1mWriteUnits: 0.625, redshiftPerRpuHour: 0.375 });
  });

  it.each([
    [{ s3Per1kPutClass: -1 }, /prices\.s3Per1kPutClass/],
    [{ s3Per1kPutClas: 1 }, /prices\.s3Per1kPutClas: unknown key; did you mean 's3Per1kPutClass'\?/],
  ])('refuses prices %j naming the field', (prices, message) => {
    expect(() => parseConfig({ datasets: [dataset], prices })).toThrow(ConfigurationError);
    expect(() => parseConfig({ datasets: [dataset], prices })).toThrow(message);
  });
});

describe('usage figures', () => {
  it('adds two usages, keeping a figure null only when neither counted it', () => {
    const sum = addUsage(usage({ s3GetClass: 2, sfnTransitions: null }), usage({ s3GetClass: 3, sfnTransitions: 7 }));
    expect(sum).toMatchObject({ s3GetClass: 5, sfnTransitions: 7, redshiftRpuSeconds: null });
  });

  it('writes only non-zero figures and reads absent ones back as 0 or null', () => {
    expect(usageDelta({ s3PutClass: 3, s3GetClass: 0, sfnTransitions: null })).toEqual({ s3PutClass: 3 });
    expect(usageOf({ s3PutClass: 3 })).toEqual(usage({ s3PutClass: 3 }));
  });

  it('gives a run recorded before metering empty usage and a zero cost', () => {
    const out = runUsageAndCost({ runId: 'r', dataset: 'orders', status: 'PASSED', startedAt: '', updatedAt: '' }, DEFAULT_PRICES);
    expect(out.usage).toEqual(emptyUsage());
    expect(out.cost.totalMicroUsd).toBe(0);
  });
});
