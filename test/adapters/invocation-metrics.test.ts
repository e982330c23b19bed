import { LOCAL_BINDINGS, createStageHandler, type LocalBindings } from '../../lambdas/adapters/stage-handler';
import { countInvocation } from '../../lambdas/adapters/invocation-metrics';
import { parseConfig } from '../../lambdas/core/config';
import type { StageDeps } from '../../lambdas/core/stage-deps';
import { datapointsOf } from '../../local/local-metrics';

const config = parseConfig({
  datasets: ['orders', 'events'].map((name) => ({ name, prefix: `${name}/`, target: { schema: 'public', table: name }, columns: [{ name: 'id', type: 'BIGINT' }], loadMode: 'append' })),
});

/** Invokes `handler` as the local runtime does, collecting its EMF documents. */
function harness() {
  const documents: Record<string, unknown>[] = [];
  const bindings: LocalBindings = { stageDeps: { config } as unknown as StageDeps, starter: { start: () => Promise.resolve('started') }, emf: (d) => documents.push(d) };
  return { documents, context: { [LOCAL_BINDINGS]: bindings }, points: () => documents.flatMap((d) => datapointsOf(d as never)) };
}

describe('stage invocation metrics (Powertools EMF)', () => {
  it("writes what the core added under namespace syncproof with the dataset dimension, and the invocation's DurationMs under its stage", async () => {
    const h = harness();
    const handler = createStageHandler('load', async (_input: { dataset: string }, deps: StageDeps) => {
      deps.metrics?.add('Rows', 7);
      deps.metrics?.add('Rows', 3);
      return 'done';
    });

    await handler({ dataset: 'orders' }, h.context);

    expect(h.documents).toHaveLength(2);
    expect(h.documents[0]).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: 'syncproof', Dimensions: [['service', 'dataset']], Metrics: [{ Name: 'Rows', Unit: 'Count' }] }] }, service: 'syncproof', dataset: 'orders', Rows: 10 });
    expect(h.points().find((p) => p.name === 'DurationMs')).toMatchObject({ unit: 'Milliseconds', dimensions: { service: 'syncproof', dataset: 'orders', stage: 'load' } });
  });

  it('still writes the metrics when the core throws', async () => {
    const h = harness();
    const handler = createStageHandler('load', async (_input: { dataset: string }, deps: StageDeps) => {
      deps.metrics?.add('Quarantines', 1);
      throw Object.assign(new Error('boom'), { name: 'TransientError' });
    });

    await expect(handler({ dataset: 'orders' }, h.context)).rejects.toThrow('boom');

    expect(h.points().map((p) => p.name).sort()).toEqual(['DurationMs', 'Quarantines']);
  });

  it('attributes what adapters count to the invocation they ran in, also when invocations overlap', async () => {
    const h = harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = createStageHandler('verify', async (input: { dataset: string; n: number }) => {
      await gate;
      for (let i = 0; i < input.n; i++) countInvocation('DataApiStatements');
      return input.dataset;
    });

    const both = Promise.all([handler({ dataset: 'orders', n: 2 }, h.context), handler({ dataset: 'events', n: 5 }, h.context)]);
    release();
    await both;

    const statements = (dataset: string) => h.points().filter((p) => p.name === 'DataApiStatements' && p.dimensions.dataset === dataset).reduce((s, p) => s + p.value, 0);
    expect([statements('orders'), statements('events')]).toEqual([2, 5]);
  });

  it('measures nothing for a dataset the configuration does not name (no metric per typo)', async () => {
    const h = harness();
    const handler = createStageHandler('record', async (_input: { dataset: string }, deps: StageDeps) => {
      deps.metrics?.add('RunsFailed', 1);
      return 'x';
    });

    await handler({ dataset: 'ordres' }, h.context);

    expect(h.documents).toEqual([]);
  });
});
