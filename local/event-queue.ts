import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventDeliveryPolicy } from './event-delivery';
import type { Json } from './template';

/** One SQS message: an EventBridge event, with how often it was received. */
export interface QueueMessage {
  /** SQS MessageId: a duplicate delivery is a message of its own, with the same body. */
  readonly id: string;
  readonly body: Record<string, Json>;
  /** S3 key the event names (what the delivery policy's fault hooks match on). */
  readonly key: string;
  /** Receives so far (SQS ApproximateReceiveCount). */
  receiveCount: number;
}

/** Options of {@link EventQueue.open}. */
export interface EventQueueOptions {
  /** Where messages are kept (one JSON file per message; `dead/` holds the dead-letter queue). */
  readonly dir: string;
  readonly policy: EventDeliveryPolicy;
  /**
   * Runs the trigger on one batch; resolves with the ids of the messages that failed
   * (batchItemFailures). A rejection fails the whole batch, as a Lambda error does.
   */
  readonly deliver: (batch: readonly QueueMessage[]) => Promise<ReadonlySet<string>>;
  /** Messages per trigger invocation (the event source mapping's BatchSize). @default 10 */
  readonly batchSize?: number;
  /** How long a visible message waits for a batch to fill (MaximumBatchingWindow, shortened). @default 200 */
  readonly windowMs?: number;
  /** Receives before a message moves to the dead-letter queue (the queue's maxReceiveCount). @default 5 */
  readonly maxReceiveCount?: number;
  /** Called for failures of the queue itself (a journal write), never for a trigger's failure. */
  readonly onError?: (error: unknown) => void;
}

interface Slot {
  readonly message: QueueMessage;
  /** Epoch ms at which the message becomes visible. */
  visibleAt: number;
  held: boolean;
  inFlight: boolean;
}

/**
 * The SQS queue between EventBridge and the trigger, with SQS's durability and semantics: a message
 * is written to disk (write to a temporary file, then rename) **before** {@link enqueue} returns —
 * the S3 emulator emits its event synchronously before it answers the PUT, so an acknowledged
 * upload always has its message on disk — and it is deleted only after the trigger returned without
 * a batchItemFailure for it. A failed or timed-out message becomes visible again after a short
 * visibility timeout (100 ms × receives, the 6 × trigger timeout of AWS shortened) and moves to
 * `dead/` after `maxReceiveCount` receives. A message in flight when the process dies is on disk
 * and is delivered again by the next {@link EventQueue.open} on the same directory: at least once.
 *
 * Files are not fsync'ed: they survive the process being killed (the kernel keeps the write), not
 * a power loss — the same guarantee the S3 and DynamoDB emulators' own files give.
 */
export class EventQueue {
  private readonly slots = new Map<string, Slot>();
  private timer: NodeJS.Timeout | undefined;
  private readonly deliveries = new Set<Promise<void>>();
  private stopped = false;
  private readonly batchSize: number;
  private readonly windowMs: number;
  private readonly maxReceiveCount: number;

  private constructor(private readonly options: EventQueueOptions) {
    this.batchSize = options.batchSize ?? 10;
    this.windowMs = options.windowMs ?? 200;
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
  }

  /**
   * Opens the queue in `dir`, creating it if needed. Messages left there by an earlier process
   * are visible at once (a restart also releases held messages). `recovered` says how many.
   */
  static open(options: EventQueueOptions): { queue: EventQueue; recovered: number } {
    mkdirSync(join(options.dir, 'dead'), { recursive: true });
    const queue = new EventQueue(options);
    const now = Date.now();
    let recovered = 0;
    for (const name of readdirSync(options.dir).sort()) {
      if (!name.endsWith('.json')) {
        if (name.endsWith('.partial')) rmSync(join(options.dir, name), { force: true });
        continue;
      }
      let message: QueueMessage;
      try {
        message = JSON.parse(readFileSync(join(options.dir, name), 'utf8')) as QueueMessage;
      } catch {
        continue; // renamed into place only when complete: unreadable means not ours
      }
      queue.slots.set(message.id, { message, visibleAt: now, held: false, inFlight: false });
      recovered += 1;
    }
    queue.schedule();
    return { queue, recovered };
  }

  /**
   * Accepts one event: persisted (synchronously) once per planned delivery, then scheduled. After
   * {@link stop} it is still persisted, for the next process to deliver.
   */
  enqueue(body: Record<string, Json>, key: string): void {
    // Even while stopping: the PUT is answered after this returns, so its event must be on disk.
    const now = Date.now();
    for (const planned of this.options.policy.plan(key)) {
      const message: QueueMessage = { id: randomUUID(), body, key, receiveCount: 0 };
      this.write(message);
      this.slots.set(message.id, { message, visibleAt: now + planned.delayMs, held: planned.held, inFlight: false });
    }
    this.schedule();
  }

  /** Makes held messages visible now. */
  release(): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      if (slot.held) {
        slot.held = false;
        slot.visibleAt = now;
      }
    }
    this.schedule();
  }

  /** Messages not yet deleted, including held and in-flight ones. */
  get size(): number {
    return this.slots.size;
  }

  /** Keys of the messages not yet deleted (their events may still start executions). */
  pendingKeys(): Set<string> {
    return new Set([...this.slots.values()].map((s) => s.message.key));
  }

  /** True when every message left is held and no trigger runs: nothing more will happen by itself. */
  idle(): boolean {
    return this.deliveries.size === 0 && [...this.slots.values()].every((s) => s.held);
  }

  /** Messages in the dead-letter queue (`dead/`). */
  deadLetters(): QueueMessage[] {
    const dir = join(this.options.dir, 'dead');
    return readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as QueueMessage);
  }

  /** Stops delivering; resolves when the triggers in flight have returned. Messages stay on disk. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  private file(id: string): string {
    return join(this.options.dir, `${id}.json`);
  }

  private write(message: QueueMessage): void {
    const temporary = `${this.file(message.id)}.partial`;
    writeFileSync(temporary, JSON.stringify(message));
    renameSync(temporary, this.file(message.id));
  }

  /** Arms the timer for the next moment a batch may be due. */
  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let next = Infinity;
    for (const s of this.slots.values()) {
      if (s.held || s.inFlight) continue;
      next = Math.min(next, s.visibleAt + this.windowMs);
    }
    const visibleNow = this.visible(Date.now()).length;
    if (visibleNow >= this.batchSize) next = Date.now();
    else {
      // A message that is not visible yet may complete a batch before the window ends.
      for (const s of this.slots.values()) if (!s.held && !s.inFlight && s.visibleAt > Date.now()) next = Math.min(next, s.visibleAt);
    }
    if (next === Infinity) return;
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - Date.now()));
  }

  private visible(now: number): Slot[] {
    return [...this.slots.values()].filter((s) => !s.held && !s.inFlight && s.visibleAt <= now);
  }

  /** Delivers every ready message, shuffled by the policy and cut into batches, when one is due. */
  private pump(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = Date.now();
    const ready = this.visible(now);
    const due = ready.length >= this.batchSize || ready.some((s) => s.visibleAt + this.windowMs <= now);
    if (due) {
      const ordered = this.options.policy.order(ready);
      for (let i = 0; i < ordered.length; i += this.batchSize) this.receive(ordered.slice(i, i + this.batchSize));
    }
    this.schedule();
  }

  private receive(batch: Slot[]): void {
    for (const s of batch) {
      s.inFlight = true;
      s.message.receiveCount += 1;
    }
    const delivery = this.options
      .deliver(batch.map((s) => s.message))
      .catch(() => new Set(batch.map((s) => s.message.id)))
      .then((failed) => this.settle(batch, failed))
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.deliveries.delete(delivery);
        this.schedule();
      });
    this.deliveries.add(delivery);
  }

  private settle(batch: readonly Slot[], failed: ReadonlySet<string>): void {
    const now = Date.now();
    for (const s of batch) {
      const { message } = s;
      s.inFlight = false;
      if (!failed.has(message.id)) {
        this.slots.delete(message.id);
        rmSync(this.file(message.id), { force: true });
      } else if (message.receiveCount >= this.maxReceiveCount) {
        this.slots.delete(message.id);
        this.write(message);
        renameSync(this.file(message.id), join(this.options.dir, 'dead', `${message.id}.json`));
      } else {
        this.write(message);
        s.visibleAt = now + 100 * message.receiveCount;
      }
    }
  }
}
