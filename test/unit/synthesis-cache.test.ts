/**
 * The local runtime's kept synthesis (local/template.ts): what synthesizeStack returns from the
 * temp dir is what a fresh synthesis of the same configuration gives, and another configuration
 * is synthesized on its own.
 */
import { parseConfig } from '../../lambdas/core/config';
import { DEMO_CONFIG } from '../../local/demo';
import { localStackConfig } from '../../local/runtime';
import { synthesizeFresh, synthesizeStack } from '../../local/template';

jest.setTimeout(120_000);

describe('synthesizeStack', () => {
  it('returns what a fresh synthesis of the same configuration gives, each time', () => {
    const config = localStackConfig(DEMO_CONFIG);
    const first = synthesizeStack(config);
    const second = synthesizeStack(config);
    expect(second).toEqual(synthesizeFresh(config));
    expect(first).toEqual(second);
    // Each call returns its own copy (the runtime's editTemplate changes it in place).
    expect(second.template).not.toBe(first.template);
  });

  it('synthesizes another configuration on its own', () => {
    const other = localStackConfig(parseConfig({ datasets: [{ ...DEMO_CONFIG.datasets[0]!, name: 'orders-copy', prefix: 'orders-copy/' }] }));
    const kept = synthesizeStack(other);
    expect(kept).toEqual(synthesizeFresh(other));
    expect(JSON.stringify(kept.template)).toContain('orders-copy/');
    expect(kept).not.toEqual(synthesizeStack(localStackConfig(DEMO_CONFIG)));
  });
});
