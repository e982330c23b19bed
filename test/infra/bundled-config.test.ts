import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { decodeParquet } from '../../lambdas/adapters/parquet-file';
import { PARQUET_WORKER_IDENTIFIER, buildParquetWorkerSource, decodeBundledWorker, encodeBundledWorker } from '../../lambdas/core/bundled-worker';
import { ENV } from '../../lambdas/core/env';
import { StageFunction } from '../../lib/constructs/stage-function';
import { configWithDatasets, exampleConfig, resources, sourceDataset } from './support';

const RESULT = 'RESULT:';

/** What the bundled handler returned or threw. */
type Outcome = { readonly ok: unknown } | { readonly error: { readonly name: string; readonly message: string } };

/**
 * Invokes the bundled handler (`index.handler` of the asset whose S3 key is `key`) in a fresh
 * Node process, as Lambda would load it, with only the environment the stack sets (no config).
 */
function invokeBundle(outdir: string, key: string, event: unknown): Outcome {
  const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  if (!existsSync(join(dir, 'index.js'))) throw new Error(`no bundle at ${dir}; assembly holds ${readdirSync(outdir).join(', ')}`);
  const script = `require(${JSON.stringify(join(dir, 'index.js'))}).handler(JSON.parse(process.argv[1])).then(
    (ok) => console.log(${JSON.stringify(RESULT)} + JSON.stringify({ ok })),
    (e) => console.log(${JSON.stringify(RESULT)} + JSON.stringify({ error: { name: e.name, message: e.message } })))`;
  const env = {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    NODE_NO_WARNINGS: '1',
    [ENV.bucket]: 'bucket',
    [ENV.ledgerTable]: 'ledger',
    [ENV.runsTable]: 'runs',
    [ENV.watermarksTable]: 'watermarks',
    [ENV.warehouse]: 'redshift-data',
  };
  const out = execFileSync(process.execPath, ['-e', script, JSON.stringify(event)], { env, encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith(RESULT));
  if (!line) throw new Error(`the bundled handler printed no result: ${out}`);
  return JSON.parse(line.slice(RESULT.length)) as Outcome;
}

/**
 * The extract stage bundled by esbuild exactly as the stack bundles it (StageFunction, local
 * bundling), twice: once with the example configuration and once with a source dataset added.
 */
describe('a stage bundled with its configuration', () => {
  const withSource = configWithDatasets(exampleConfig().datasets[0], sourceDataset());
  let outdir: string;
  let keys: Record<'example' | 'withSource', string>;
  let templateJson: string;

  beforeAll(() => {
    const app = new App(); // bundling on, as in `cdk synth`
    const stack = new Stack(app, 'Bundled');
    const fns = {
      example: new StageFunction(stack, 'Example', { stage: 'extract', config: exampleConfig(), environment: {} }),
      withSource: new StageFunction(stack, 'WithSource', { stage: 'extract', config: withSource, environment: {} }),
    };
    const template = Template.fromStack(stack);
    const keyOf = (fn: StageFunction): string => {
      const id = stack.getLogicalId(fn.function.node.defaultChild as never);
      const found = resources(template, 'AWS::Lambda::Function').find(([logicalId]) => logicalId === id);
      return String((found?.[1].Properties?.Code as { S3Key: string }).S3Key);
    };
    keys = { example: keyOf(fns.example), withSource: keyOf(fns.withSource) };
    outdir = app.outdir;
    templateJson = JSON.stringify(template.toJSON());
  }, 300_000);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('changes the bundle (its asset hash) when the configuration changes', () => {
    expect(keys.example).not.toEqual(keys.withSource);
  });

  it('runs the bundled handler with the configuration from its bundle, not from the environment', () => {
    // orders has no source: extract skips it, without any I/O, once it found it in the configuration.
    expect(invokeBundle(outdir, keys.withSource, { runId: 'run-1', input: { dataset: 'orders' } })).toEqual({ ok: { status: 'SKIPPED' } });
    expect(invokeBundle(outdir, keys.withSource, { runId: 'run-1', input: { dataset: 'nope' } })).toEqual({
      error: { name: 'ConfigurationError', message: "unknown dataset 'nope'; configured datasets: orders, customers" },
    });
  });

  it('bundles each configuration into its own function', () => {
    expect(invokeBundle(outdir, keys.example, { runId: 'run-1', input: { dataset: 'nope' } })).toEqual({
      error: { name: 'ConfigurationError', message: "unknown dataset 'nope'; configured datasets: orders" },
    });
  });

  it("carries the Parquet encoder worker's code, which encodes in a worker thread", async () => {
    const bundle = readFileSync(join(outdir, `asset.${keys.example.replace(/\.zip$/, '')}`, 'index.js'), 'utf8');
    const encoded = encodeBundledWorker(buildParquetWorkerSource());

    expect(bundle).toContain(encoded);
    expect(bundle).not.toContain(PARQUET_WORKER_IDENTIFIER);
    const worker = new Worker(decodeBundledWorker(encoded), { eval: true });
    try {
      const reply = new Promise<{ id: number; encoded?: { body: Uint8Array } }>((resolve) => worker.once('message', resolve));
      worker.postMessage({ id: 7, rows: 2, options: { codec: 'GZIP' }, columns: [{ name: 'id', type: { parquet: { type: 'INT64' }, redshift: 'BIGINT', rule: 'bigint' }, nullable: false, values: [1n, 2n] }] });
      const { id, encoded: file } = await reply;
      expect(id).toBe(7);
      expect(Array.from((await decodeParquet('bundled.parquet', file!.body)).data[0]!)).toEqual([1n, 2n]);
    } finally {
      await worker.terminate();
    }
  });

  it('does not show the configuration in the template', () => {
    expect(templateJson).not.toContain('crm.customers');
    expect(templateJson).not.toContain('datasets');
  });
});
