import { randomUUID } from 'node:crypto';
import { nowTime } from '@eventpipe/schema';
import {
  ErasureIndex,
  foldErasures,
  requestedSteps,
  type Erasure,
  type ErasureLog,
  type ErasureRequest,
  type ErasureStep,
} from './erasures';

/**
 * Every erasure, as each service needs it: the query API requests, lists and lifts them; the
 * publisher drops what a suppression covers; the worker runs the deletes and drops late arrivals
 * an erasure covers. Read whole from the log and reloaded every `refreshMs` (the table is small);
 * what this process appends is seen at once.
 */
export class ErasureBook {
  private erasures: Erasure[] = [];
  private steps: ErasureStep[] = [];
  private index = new ErasureIndex([]);
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly log: ErasureLog,
    private readonly opts: {
      refreshMs: number;
      onError?: (e: unknown) => void;
      newId?: () => string;
    },
  ) {}

  /** Loads the log, then reloads it every refreshMs until stop(). A failed load is reported
   * (onError) and tried again at the next refresh. */
  async start(): Promise<this> {
    await this.refresh().catch((e) => this.opts.onError?.(e));
    const tick = () => {
      this.timer = setTimeout(() => {
        this.refresh()
          .catch((e) => this.opts.onError?.(e))
          .finally(() => {
            if (this.timer) tick();
          });
      }, this.opts.refreshMs);
      this.timer.unref();
    };
    tick();
    return this;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Reloads the log. It only grows, so what is loaded joins what this process knows (a step
   * appended while the read ran is kept). */
  async refresh(): Promise<void> {
    const loaded = await this.log.readSteps();
    const seen = new Set(this.steps.map(stepKey));
    this.set([...this.steps, ...loaded.filter((s) => !seen.has(stepKey(s)))]);
  }

  /** Called after every change this process makes or loads (the worker's runner wakes on it). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  all(): readonly Erasure[] {
    return this.erasures;
  }

  get(id: string): Erasure | undefined {
    return this.erasures.find((e) => e.id === id);
  }

  pending(): Erasure[] {
    return this.erasures.filter((e) => e.state === 'pending');
  }

  /** Records a new erasure; its events leave every read at once (the stores filter on the log). */
  async request(request: ErasureRequest, keyName: string | null): Promise<Erasure> {
    const id = this.opts.newId?.() ?? randomUUID();
    const steps = requestedSteps(id, request, nowTime(), keyName);
    await this.log.appendSteps(steps);
    this.set([...this.steps, ...steps]);
    return this.get(id)!;
  }

  /** Appends a step to an erasure (progress, done, failed, lifted). */
  async record(
    erasure: Erasure,
    step: Pick<ErasureStep, 'action'> & Partial<Pick<ErasureStep, 'rows' | 'detail' | 'keyName'>>,
  ): Promise<Erasure> {
    const full: ErasureStep = {
      erasureId: erasure.id,
      at: nowTime(),
      action: step.action,
      keyName: step.keyName ?? null,
      subject: null,
      eventId: null,
      source: null,
      sourcePrefix: null,
      suppress: null,
      rows: step.rows ?? null,
      detail: step.detail ?? null,
    };
    await this.log.appendSteps([full]);
    this.set([...this.steps, full]);
    return this.get(erasure.id)!;
  }

  /** Whether a suppression drops a new event with this subject and source. */
  suppressed(event: { subject?: string | null; source: string }): boolean {
    return this.index.suppresses(event);
  }

  /** Whether an erasure covers this event (received up to its cut-off): it is not stored. */
  erased(event: {
    subject?: string | null;
    source: string;
    id: string;
    receivedAt: string;
  }): boolean {
    return this.index.covers(event);
  }

  private set(steps: ErasureStep[]): void {
    this.steps = steps;
    this.erasures = foldErasures(steps);
    this.index = new ErasureIndex(this.erasures);
    for (const l of this.listeners) l();
  }
}

const stepKey = (s: ErasureStep) =>
  JSON.stringify([s.erasureId, s.at, s.action, s.subject, s.eventId, s.source, s.rows, s.detail]);
