import { depsFromEnv } from '../../lambdas/adapters/stage-handler';
import { ENV } from '../../lambdas/core/env';
import { ConfigurationError } from '../../lambdas/core/errors';

describe('depsFromEnv', () => {
  const saved = process.env[ENV.config];

  afterEach(() => {
    if (saved === undefined) delete process.env[ENV.config];
    else process.env[ENV.config] = saved;
  });

  it('refuses a configuration in the environment with a misspelt key, naming its path and the nearest valid key', () => {
    const dataset = { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['order_id'], versionColum: 'updated_at' };
    process.env[ENV.config] = JSON.stringify({ datasets: [dataset] });
    expect(() => depsFromEnv()).toThrow(ConfigurationError);
    expect(() => depsFromEnv()).toThrow(`environment variable ${ENV.config} is invalid: datasets.0.versionColum: unknown key; did you mean 'versionColumn'?`);
  });
});
