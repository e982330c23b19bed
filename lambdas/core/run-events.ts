/**
 * syncproof's own EventBridge events, put by the Record stage on the account's default bus
 * (source {@link EVENT_SOURCE}): `syncproof.run` when a sync run ends and `syncproof.verification`
 * when a verification ends. One zod schema per event's `detail`; the README's event catalogue is
 * generated from them ({@link eventCatalogue}) and a test holds the two equal.
 *
 * Delivery is at least once (a retried Record invocation puts its event again): consumers dedupe
 * by `detail.id`, which is the same for every put of one run's end.
 */
import { z } from 'zod';

/** The `source` of every syncproof event. */
export const EVENT_SOURCE = 'syncproof';

/** The bus syncproof puts its events on: the account's default bus (the stack grants PutEvents on it only). */
export const EVENT_BUS_NAME = 'default';

/** The `detail-type`s syncproof puts. */
export const EVENT_TYPES = { run: 'syncproof.run', verification: 'syncproof.verification' } as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

const endStatus = z.enum(['NO_WORK', 'PASSED', 'PASSED_PARTIAL', 'PASSED_WITH_WARNINGS', 'FAILED']);
const lagSeconds = z
  .number()
  .int()
  .nonnegative()
  .nullable()
  .describe("The dataset's sync lag in seconds when the run ended (now minus the newest data proven in the warehouse); null when nothing is proven yet");
const common = {
  id: z.string().min(1).describe('Stable for one run\'s end: the same on every delivery of this event; dedupe by it'),
  runId: z.string().min(1).describe('The run (the Step Functions execution name); `syncproof runs show <runId>` shows its record'),
  dataset: z.string().min(1).describe('The dataset name from the configuration'),
  lagSeconds,
  reportUri: z.string().optional().describe('S3 URI of the run\'s report or evidence, when it wrote one'),
  error: z.string().optional().describe('`ErrorName: cause` when status is FAILED'),
  endedAt: z.string().describe('ISO-8601 instant the Record stage closed the run'),
};

/** `detail` of a `syncproof.run` event: a sync run ended. */
export const runEventSchema = z
  .strictObject({
    ...common,
    mode: z.string().optional().describe('How the run was started: incremental, full, extract-only, load-only, repair, event (S3 uploads) or reconcile'),
    status: endStatus.describe('The run\'s final status, as its run record says'),
    rows: z.number().int().nonnegative().describe('Rows the run\'s loads committed into the warehouse'),
    files: z.number().int().nonnegative().describe('Files (object versions) the run\'s loads committed'),
    bytes: z.number().int().nonnegative().describe('Bytes of those files'),
    quarantined: z.number().int().nonnegative().describe('Files the run\'s loads set aside as quarantined'),
  })
  .describe('syncproof.run: a sync run ended');
export type RunEvent = z.infer<typeof runEventSchema>;

const tierStatus = z.enum(['PASSED', 'PASSED_PARTIAL', 'PASSED_WITH_WARNINGS', 'FAILED', 'SKIPPED']);

/** `detail` of a `syncproof.verification` event: a verification ended. */
export const verificationEventSchema = z
  .strictObject({
    ...common,
    tier: z.string().describe('The deepest tier that ran: inventory (the execution failed before its checks), counts or content'),
    status: z.enum(['PASSED', 'PASSED_PARTIAL', 'PASSED_WITH_WARNINGS', 'FAILED']).describe('The verdict: the worst of the tiers\' statuses'),
    tiers: z
      .strictObject({
        inventory: tierStatus.optional(),
        checksum: tierStatus.optional(),
        counts: tierStatus.optional(),
        content: tierStatus.optional(),
      })
      .describe('Each tier\'s own status; a tier that did not run is absent (content SKIPPED when the tier was counts)'),
  })
  .describe('syncproof.verification: a verification ended');
export type VerificationEvent = z.infer<typeof verificationEventSchema>;

/** One event as the EventSink puts it. */
export type SyncproofEvent =
  | { readonly detailType: typeof EVENT_TYPES.run; readonly detail: RunEvent }
  | { readonly detailType: typeof EVENT_TYPES.verification; readonly detail: VerificationEvent };

/** The stable `id` of the event that ends `runId` (see the module's note on at-least-once delivery). */
export function eventId(detailType: EventType, runId: string): string {
  return `${detailType}/${runId}`;
}

/** The JSON Schema (draft 2020-12) of each event's `detail`, by detail-type. */
export function eventCatalogue(): Record<EventType, unknown> {
  return {
    [EVENT_TYPES.run]: z.toJSONSchema(runEventSchema, { target: 'draft-2020-12', io: 'output' }),
    [EVENT_TYPES.verification]: z.toJSONSchema(verificationEventSchema, { target: 'draft-2020-12', io: 'output' }),
  };
}
