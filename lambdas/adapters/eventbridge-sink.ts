import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../core/errors';
import type { EventSink } from '../core/ports';
import { EVENT_BUS_NAME, EVENT_SOURCE, type SyncproofEvent } from '../core/run-events';


/**
 * EventSink over EventBridge PutEvents: one entry per event on the default bus, source
 * `syncproof`, the event's detail-type. An entry EventBridge refuses (FailedEntryCount) raises
 * TransientError naming its error code; the caller decides whether that fails anything.
 */
export class EventBridgeSink implements EventSink {
  constructor(private readonly client: EventBridgeClient) {}

  async put(event: SyncproofEvent): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: EVENT_BUS_NAME, Source: EVENT_SOURCE, DetailType: event.detailType, Detail: JSON.stringify(event.detail) }],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const entry = out.Entries?.find((e) => e.ErrorCode);
      throw new TransientError(`EventBridge refused event ${event.detailType} ${event.detail.id}: ${entry?.ErrorCode ?? 'unknown error'} ${entry?.ErrorMessage ?? ''}`.trim());
    }
  }
}
