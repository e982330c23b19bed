import { EVENT_SOURCE, EVENT_TYPES } from '../../lambdas/core/run-events';
import type { CfnTemplate, Json } from '../../local/template';
import type { LocalRuntime } from '../../local/runtime';
import { ordersFile, ordersState, range, startRuntime } from './support';

const RUN_EVENTS = { source: [EVENT_SOURCE], 'detail-type': [EVENT_TYPES.run] };
const VERIFICATION_EVENTS = { source: [EVENT_SOURCE], 'detail-type': [EVENT_TYPES.verification] };

/**
 * Metrics (the stages' EMF, read as CloudWatch reads it) and the record stage's EventBridge events
 * after real runs on the local runtime, each checked against what the warehouse and the run record
 * say. The stages run under the roles the stack synthesized: PutEvents is allowed only by the
 * record role's grant.
 */
describe('run metrics and events on the local runtime', () => {
  let runtime: LocalRuntime;
  const bodies = [ordersFile(range(1, 700), 0, 'new'), ordersFile(range(701, 300), 0, 'new')];

  beforeAll(async () => {
    runtime = await startRuntime({ s3Events: false });
    await runtime.deps.objects.put('orders/m/a.parquet', bodies[0]!);
    await runtime.deps.objects.put('orders/m/b.parquet', bodies[1]!);
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  it('emits Rows, Files and Bytes equal to what the sync run loaded into the warehouse', async () => {
    const execution = await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' }, 'metrics-sync');
    expect(execution.run?.status).toBe('PASSED');

    const { rows } = await ordersState(runtime);
    expect(rows).toBe(1000);
    const orders = { dimensions: { dataset: 'orders', service: 'syncproof' } };
    const metrics = runtime.metrics();
    expect(metrics.sum({ name: 'Rows', ...orders })).toBe(rows);
    expect(metrics.sum({ name: 'Files', ...orders })).toBe(2);
    expect(metrics.sum({ name: 'Bytes', ...orders })).toBe(bodies[0]!.length + bodies[1]!.length);
    expect(metrics.sum({ name: 'Quarantines', ...orders })).toBe(0);
    expect(metrics.datapoints({ name: 'Rows' })[0]).toMatchObject({ namespace: 'syncproof', unit: 'Count' });
    // The load's statements went through the local Redshift Data API.
    expect(metrics.sum({ name: 'DataApiStatements', ...orders })).toBeGreaterThan(0);
    const stages = new Set(metrics.datapoints({ name: 'DurationMs', ...orders }).map((p) => p.dimensions.stage));
    expect([...stages].sort()).toEqual(expect.arrayContaining(['discover', 'load', 'record', 'verify']));
  });

  it('puts one syncproof.run event whose status and counts are the run record\'s', async () => {
    const run = await runtime.deps.runs.get('metrics-sync');
    const events = runtime.events(RUN_EVENTS as unknown as Json).filter((e) => (e.detail as { runId?: string }).runId === 'metrics-sync');

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'syncproof', 'detail-type': 'syncproof.run', bus: 'default' });
    expect(events[0]!.detail).toMatchObject({ id: 'syncproof.run/metrics-sync', dataset: 'orders', mode: 'reconcile', status: run?.status, rows: 1000, files: 2, quarantined: 0 });
    // A file dataset's lag needs its whole ledger: a sync run leaves it to the verifications.
    expect((events[0]!.detail as { lagSeconds: unknown }).lagSeconds).toBeNull();
  });

  it('puts a syncproof.verification event with the verdict the run record holds, and counts the verification', async () => {
    const execution = await runtime.startVerification('orders', { name: 'metrics-verify' });
    const run = await runtime.deps.runs.get('metrics-verify');
    const [event, ...more] = runtime.events(VERIFICATION_EVENTS as unknown as Json);

    expect(more).toEqual([]);
    expect(event?.detail).toMatchObject({ id: 'syncproof.verification/metrics-verify', runId: 'metrics-verify', dataset: 'orders', status: run?.status, tier: 'counts' });
    // A FAILED verdict carries the run record's error; the execution fails with it (VerificationFailed).
    expect((event?.detail as { error?: string }).error).toBe(run?.error);
    expect(execution.status).toBe(run?.status === 'FAILED' ? 'FAILED' : 'SUCCEEDED');
    expect((event?.detail as { tiers: Record<string, string> }).tiers).toMatchObject({ inventory: expect.any(String), checksum: expect.any(String), counts: expect.any(String) });
    expect(runtime.metrics().sum({ name: 'Verifications', dimensions: { dataset: 'orders' } })).toBe(1);
    // The verification reads the ledger anyway: it reports the file dataset's lag, event and metric.
    expect(typeof (event?.detail as { lagSeconds: unknown }).lagSeconds).toBe('number');
    expect(runtime.metrics().datapoints({ name: 'LagSeconds', dimensions: { dataset: 'orders' } })).toHaveLength(1);
  });

  it('puts status FAILED with the error of a run that failed', async () => {
    const execution = await runtime.startExecution({ dataset: 'orders', mode: 'no-such-mode' }, 'metrics-failed');
    const run = await runtime.deps.runs.get('metrics-failed');
    const [event] = runtime.events(RUN_EVENTS as unknown as Json).filter((e) => (e.detail as { runId?: string }).runId === 'metrics-failed');

    expect(execution.status).toBe('FAILED');
    expect(run?.status).toBe('FAILED');
    expect(event?.detail).toMatchObject({ status: 'FAILED', error: run?.error, rows: 0 });
    expect(runtime.metrics().sum({ name: 'RunsFailed', dimensions: { dataset: 'orders' } })).toBe(1);
  });
});

/** The record role's PutEvents grant is what lets the event out; without it the run still passes. */
describe('run events without the stack\'s PutEvents grant', () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startRuntime({ s3Events: false, editTemplate: removePutEventsGrants });
    await runtime.deps.objects.put('orders/m/a.parquet', ordersFile(range(1, 10), 0, 'new'));
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  it('is denied by the local IAM check, counted in EventsFailed, and the run still passes', async () => {
    const execution = await runtime.startExecution({ dataset: 'orders', mode: 'reconcile' }, 'no-grant');

    expect(execution.run?.status).toBe('PASSED');
    expect(runtime.events()).toEqual([]);
    expect(runtime.metrics().sum({ name: 'EventsFailed', dimensions: { dataset: 'orders' } })).toBe(1);
  });
});

/** Drops every `events:PutEvents` statement from the template's policies. */
function removePutEventsGrants(template: CfnTemplate): void {
  const resources = template.Resources as unknown as Record<string, { Type?: string; Properties?: { PolicyDocument?: { Statement?: { Action?: unknown }[] } } }>;
  for (const r of Object.values(resources)) {
    const doc = r.Properties?.PolicyDocument;
    if (r.Type !== 'AWS::IAM::Policy' || !doc?.Statement) continue;
    doc.Statement = doc.Statement.filter((s) => !(s.Action === 'events:PutEvents' || (Array.isArray(s.Action) && s.Action.includes('events:PutEvents'))));
  }
}
