import { bundledConfig, depsFromEnv } from '../../lambdas/adapters/stage-handler';
import { BUNDLED_CONFIG_SOURCE, decodeBundledConfig, encodeBundledConfig } from '../../lambdas/core/bundled-config';
import { parseConfig } from '../../lambdas/core/config';
import { ConfigurationError } from '../../lambdas/core/errors';

const orders = { name: 'orders', prefix: 'orders/', target: { schema: 'public', table: 'orders' }, keyColumns: ['order_id'] };

describe('the bundled configuration', () => {
  it('decodes to the configuration the stack encoded', () => {
    const config = parseConfig({ datasets: [orders] });
    expect(decodeBundledConfig(encodeBundledConfig(config))).toEqual(config);
  });

  it('refuses a bundled configuration with a misspelt key, naming its path and the nearest valid key', () => {
    const misspelt = encodeBundledConfig({ datasets: [{ ...orders, versionColum: 'updated_at' }] } as never);
    expect(() => decodeBundledConfig(misspelt)).toThrow(ConfigurationError);
    expect(() => decodeBundledConfig(misspelt)).toThrow(`${BUNDLED_CONFIG_SOURCE} is invalid: datasets.0.versionColum: unknown key; did you mean 'versionColumn'?`);
  });

  it('says so when the bundled value is not an encoded configuration', () => {
    expect(() => decodeBundledConfig('{"datasets":[]}')).toThrow(/cannot be decoded .*redeploy the stack/);
  });

  it('names the missing bundled configuration when the code was not bundled by the stack', () => {
    expect(() => bundledConfig()).toThrow(ConfigurationError);
    expect(() => depsFromEnv()).toThrow(/bundle carries no syncproof configuration \(SYNCPROOF_BUNDLED_CONFIG was not defined at bundling\)/);
  });
});
