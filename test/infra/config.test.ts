import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { ConfigurationError } from '../../lambdas/core/errors';
import { loadConfigFile, type SyncproofConfig } from '../../lib/config';
import { SyncproofStack } from '../../lib/syncproof-stack';
import { decodeBundledConfig } from '../../lambdas/core/bundled-config';
import { StageFunction } from '../../lib/constructs/stage-function';
import { buildStack, configWithDatasets, exampleConfig, sourceDataset, templateOf } from './support';

const dataset = (): SyncproofConfig['datasets'][number] => exampleConfig().datasets[0] as SyncproofConfig['datasets'][number];
const synthWith = (config: unknown) => () => new SyncproofStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad', { config: config as SyncproofConfig });

/** Runs the CDK app entry (what `cdk synth -c config=<path>` runs) with context `config` = `path`. */
function synthApp(path: string): void {
  const saved = process.env.CDK_CONTEXT_JSON;
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ config: path, 'aws:cdk:bundling-stacks': [] });
  try {
    jest.isolateModules(() => require('../../bin/syncproof-app'));
  } finally {
    if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = saved;
  }
}

describe('configuration at synth', () => {
  it('loads the example configuration that cdk.json names', () => {
    expect(exampleConfig()).toMatchObject({
      datasets: [{ name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['order_id'], loadMode: 'upsert', format: 'parquet' }],
      redshift: { workgroupName: 'syncproof', database: 'dev', copyRoleArn: 'arn:aws:iam::123456789012:role/syncproof-redshift-copy' },
    });
  });

  it('synthesizes a configuration whose only dataset has a source, without a prefix or columns', () => {
    expect(() => templateOf(configWithDatasets(sourceDataset()))).not.toThrow();
  });

  it('bundles into the stages a configuration with a source dataset that they can decode and parse again', () => {
    const config = configWithDatasets(exampleConfig().datasets[0], sourceDataset());
    const { stack } = buildStack(config);
    const extract = stack.node.findAll().find((c): c is StageFunction => c instanceof StageFunction && c.stage === 'extract');
    expect(decodeBundledConfig(extract!.bundledConfig)).toEqual(config);
  });

  it('rejects an upsert dataset without key columns, naming the field', () => {
    const config = { ...exampleConfig(), datasets: [{ ...dataset(), keyColumns: [], columns: undefined }] };
    expect(synthWith(config)).toThrow(ConfigurationError);
    expect(synthWith(config)).toThrow(/datasets\.0\.keyColumns: upsert needs at least one key column/);
  });

  it('reports every bad field at once', () => {
    const config = { datasets: [{ ...dataset(), prefix: '/orders', keyColumns: [], columns: undefined }], redshift: { database: 'dev', copyRoleArn: 'nope' } };
    let message = '';
    try {
      synthWith(config)();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('datasets.0.prefix');
    expect(message).toContain('datasets.0.keyColumns');
    expect(message).toContain('redshift.copyRoleArn');
  });

  it('rejects a database user for Serverless, which the Data API does not accept', () => {
    const config = { ...exampleConfig(), redshift: { database: 'dev', workgroupName: 'wg', dbUser: 'loader', copyRoleArn: 'arn:aws:iam::1:role/r' } };
    expect(synthWith(config)).toThrow(/redshift\.dbUser/);
  });

  it('synthesizes a configuration larger than Lambda allows a function environment (4 KB)', () => {
    const datasets = Array.from({ length: 30 }, (_, i) => ({ ...dataset(), name: `dataset-${i}`, prefix: `data/set-${i}/` }));
    expect(Buffer.byteLength(JSON.stringify(datasets))).toBeGreaterThan(4096);
    expect(synthWith({ ...exampleConfig(), datasets })).not.toThrow();
  });

  it('warns, but synthesizes, when there is no redshift block', () => {
    const { redshift: _r, ...config } = exampleConfig();
    const { stack } = buildStack(config);
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined); // synth prints the warning
    Annotations.fromStack(stack).hasWarning('/Syncproof', Match.stringLikeRegexp('no redshift block'));
    quiet.mockRestore();
  });

  describe('loadConfigFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncproof-config-'));
    const file = (name: string, body: string): string => {
      const path = join(dir, name);
      writeFileSync(path, body);
      return path;
    };

    it('names the file and the field when the configuration is invalid', () => {
      const path = file('bad.json', JSON.stringify({ datasets: [{ ...dataset(), keyColumns: [], columns: undefined }] }));
      expect(() => loadConfigFile(path)).toThrow(`${path} is invalid: datasets.0.keyColumns: upsert needs at least one key column`);
    });

    it('says when the file is not JSON', () => {
      const path = file('broken.json', '{ "datasets": [');
      expect(() => loadConfigFile(path)).toThrow(new RegExp(`configuration file ${path} is not valid JSON`));
    });

    it('refuses at synth a configuration file with a misspelt key, naming its path and the nearest valid key', () => {
      const path = file('misspelt.json', JSON.stringify({ ...exampleConfig(), datasets: [{ ...dataset(), versionColum: 'updated_at' }] }));
      expect(() => synthApp(path)).toThrow(`${path} is invalid: datasets.0.versionColum: unknown key; did you mean 'versionColumn'?`);
    });

    it('says when the file cannot be read', () => {
      expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(/cannot read configuration file .*missing\.json/);
    });
  });
});
