import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EventBridgeSink } from '../../lambdas/adapters/eventbridge-sink';
import { TransientError } from '../../lambdas/core/errors';
import { EVENT_TYPES, type RunEvent } from '../../lambdas/core/run-events';

const detail: RunEvent = { id: 'syncproof.run/r1', runId: 'r1', dataset: 'orders', status: 'PASSED', rows: 3, files: 1, bytes: 10, quarantined: 0, lagSeconds: 5, endedAt: '2026-01-01T00:00:00.000Z' };

describe('EventBridgeSink', () => {
  const eventBridge = mockClient(EventBridgeClient);

  beforeEach(() => {
    eventBridge.reset();
  });

  it('puts one entry on the default bus with source syncproof, the detail-type and the detail as JSON', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });

    await new EventBridgeSink(new EventBridgeClient({})).put({ detailType: EVENT_TYPES.run, detail });

    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [{ EventBusName: 'default', Source: 'syncproof', DetailType: 'syncproof.run', Detail: JSON.stringify(detail) }],
    });
  });

  it('raises TransientError naming the error code when EventBridge refuses the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });

    const put = new EventBridgeSink(new EventBridgeClient({})).put({ detailType: EVENT_TYPES.run, detail });

    await expect(put).rejects.toThrow(TransientError);
    await expect(put).rejects.toThrow('EventBridge refused event syncproof.run syncproof.run/r1: InternalFailure try again');
  });
});
