import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { matchesPattern } from './event-pattern';
import type { Json } from './template';

/** An event as EventBridge delivers it to a rule's target (the envelope around the detail). */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Json;
  /** The bus the event was put on. */
  readonly bus: string;
}

const MIDDLEWARE_NAME = 'syncproofLocalEventBus';

/**
 * The account's event buses, in process: the Record stage's production EventBridge sink puts its
 * events here through an SDK client whose PutEvents never leaves the process (after the local IAM
 * check, which runs first). Events are kept in put order (read them with {@link matching}, a
 * rule's event pattern selects them as EventBridge would) and appended to a JSONL file.
 * Like EventBridge, a put is at least once: a retried Record invocation puts its event again.
 */
export class LocalEventBus {
  private readonly log: BusEvent[] = [];
  private closed = false;

  constructor(
    private readonly region: string,
    private readonly account: string,
    /** `<dataDir>/events.jsonl`: one event per line, kept across restarts. */
    private readonly file?: string,
  ) {}

  /**
   * An EventBridge client for this bus (with `guard`, e.g. the local IAM check of a function's
   * role, applied before the put is accepted).
   */
  client(credentials: { accessKeyId: string; secretAccessKey: string }, guard: (c: EventBridgeClient) => EventBridgeClient = (c) => c): EventBridgeClient {
    const client = guard(new EventBridgeClient({ region: this.region, credentials }));
    // Typed loosely, as ./iam/client-middleware.ts adds its own: a terminal middleware for one command.
    (client.middlewareStack as unknown as { add(m: unknown, o: { step: 'serialize'; name: string; override: boolean }): void }).add(
      (_next: unknown, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
        if (context.commandName !== 'PutEventsCommand') throw new Error(`the local event bus answers PutEvents only, not ${context.commandName ?? 'this command'}`);
        const entries = (args.input.Entries as PutEventsRequestEntry[] | undefined) ?? [];
        return { output: { $metadata: { httpStatusCode: 200 }, FailedEntryCount: 0, Entries: entries.map((e) => ({ EventId: this.put(e) })) }, response: {} };
      },
      { step: 'serialize', name: MIDDLEWARE_NAME, override: true },
    );
    return client;
  }

  /** The events put so far by this process, oldest first; with `pattern`, those a rule with that event pattern matches. */
  matching(pattern?: Json): readonly BusEvent[] {
    return pattern === undefined ? [...this.log] : this.log.filter((e) => matchesPattern(pattern, e as unknown as Json));
  }

  /** Stops appending to the file (the runtime is stopping: a handler abandoned past its budget may still put). */
  close(): void {
    this.closed = true;
  }

  private put(entry: PutEventsRequestEntry): string {
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType ?? '',
      source: entry.Source ?? '',
      account: this.account,
      time: (entry.Time ?? new Date()).toISOString(),
      region: this.region,
      resources: entry.Resources ?? [],
      detail: JSON.parse(entry.Detail ?? '{}') as Json,
      bus: entry.EventBusName || 'default',
    };
    this.log.push(event);
    if (this.file && !this.closed) appendFileSync(this.file, `${JSON.stringify(event)}\n`);
    return event.id;
  }
}
