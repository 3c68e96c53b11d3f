import {
  ErasureBook,
  erases,
  foldErasures,
  requestedSteps,
  suppresses,
  type ErasureLog,
  type ErasureStep,
} from '@eventpipe/store';

const T0 = '2026-12-01T10:00:00.000000Z';
const T1 = '2026-12-01T10:00:01.000000Z';
const T2 = '2026-12-01T10:00:02.000000Z';

const step = (
  erasureId: string,
  at: string,
  action: ErasureStep['action'],
  more: Partial<ErasureStep> = {},
): ErasureStep => ({
  erasureId,
  at,
  action,
  keyName: null,
  subject: null,
  eventId: null,
  source: null,
  sourcePrefix: null,
  suppress: null,
  rows: null,
  detail: null,
  ...more,
});

describe('foldErasures', () => {
  it('when steps come in any order, then the state is the latest: pending, then done with the total rows', () => {
    const requested = requestedSteps('e', { subject: 's', sources: ['/a', '/b/*'] }, T0, 'dpo');
    expect(requested.map((r) => [r.source, r.sourcePrefix])).toEqual([
      ['/a', false],
      ['/b/', true],
    ]);
    const progress = step('e', T1, 'progress', { rows: 3, detail: 'waiting' });
    let [e] = foldErasures([progress, ...requested]);
    expect(e).toMatchObject({
      state: 'pending',
      rows: 3,
      detail: 'waiting',
      requestedBy: 'dpo',
      request: { subject: 's', sources: ['/a', '/b/*'] },
    });
    [e] = foldErasures([step('e', T2, 'done', { rows: 5 }), progress, ...requested]);
    expect(e).toMatchObject({ state: 'done', rows: 5, doneAt: T2, detail: null });
  });

  it('when a step belongs to a request not visible yet, then it is left out', () => {
    expect(foldErasures([step('x', T1, 'done', { rows: 1 })])).toEqual([]);
  });

  it('when a suppression is lifted, then it no longer suppresses and says who lifted it', () => {
    const requested = requestedSteps('e', { subject: 's', suppress: true }, T0, 'dpo');
    const [before] = foldErasures(requested);
    expect(suppresses(before!, { subject: 's', source: '/any' })).toBe(true);
    expect(suppresses(before!, { subject: 't', source: '/any' })).toBe(false);
    const [after] = foldErasures([...requested, step('e', T1, 'lifted', { keyName: 'ops' })]);
    expect(after).toMatchObject({ suppressed: false, liftedBy: 'ops', liftedAt: T1 });
    expect(suppresses(after!, { subject: 's', source: '/any' })).toBe(false);
  });
});

describe('erases', () => {
  const [bySubject] = foldErasures(
    requestedSteps('e', { subject: 's', sources: ['/app/*'] }, T1, null),
  );
  const [byKey] = foldErasures(requestedSteps('k', { source: '/a', id: 'x' }, T1, null));

  it.each([
    [
      'received before the cut-off, in a matching source',
      { subject: 's', source: '/app/web', id: '1', receivedAt: T0 },
      true,
    ],
    [
      'received exactly at the cut-off',
      { subject: 's', source: '/app/web', id: '1', receivedAt: T1 },
      true,
    ],
    [
      'received after the cut-off',
      { subject: 's', source: '/app/web', id: '1', receivedAt: T2 },
      false,
    ],
    ['from another source', { subject: 's', source: '/apple', id: '1', receivedAt: T0 }, false],
    ['of another subject', { subject: 'S', source: '/app/web', id: '1', receivedAt: T0 }, false],
    ['without a subject', { subject: null, source: '/app/web', id: '1', receivedAt: T0 }, false],
  ])('a subject erasure and an event %s: %s', (_what, event, want) => {
    expect(erases(bySubject!, event)).toBe(want);
  });

  it('when an erasure names a source and id, then only that key matches', () => {
    expect(erases(byKey!, { source: '/a', id: 'x', receivedAt: T0 })).toBe(true);
    expect(erases(byKey!, { source: '/b', id: 'x', receivedAt: T0 })).toBe(false);
    expect(erases(byKey!, { source: '/a', id: 'y', receivedAt: T0 })).toBe(false);
  });
});

describe('ErasureBook', () => {
  /** A log in memory. */
  const memoryLog = (): ErasureLog & { steps: ErasureStep[] } => {
    const steps: ErasureStep[] = [];
    return {
      steps,
      readSteps: async () => [...steps],
      appendSteps: async (more) => {
        steps.push(...more);
      },
    };
  };

  it('when a request is made, then this book knows it at once, and another book after a refresh', async () => {
    const log = memoryLog();
    const a = new ErasureBook(log, { refreshMs: 60_000, newId: () => 'id-1' });
    const b = new ErasureBook(log, { refreshMs: 60_000 });
    const changes: number[] = [];
    a.onChange(() => changes.push(a.all().length));
    const e = await a.request({ subject: 'z', suppress: true }, 'dpo');
    expect(e).toMatchObject({ id: 'id-1', state: 'pending', suppressed: true });
    expect(changes).toEqual([1]);
    expect(a.suppressed({ subject: 'z', source: '/s' })).toBe(true);
    expect(b.suppressed({ subject: 'z', source: '/s' })).toBe(false);
    await b.refresh();
    expect(b.suppressed({ subject: 'z', source: '/s' })).toBe(true);
    // A time written in another form still compares by its instant.
    expect(
      a.erased({ subject: 'z', source: '/s', id: '1', receivedAt: '2000-01-01T00:00:00Z' }),
    ).toBe(true);
  });

  it('when a refresh returns fewer steps than this book appended meanwhile, then none is lost', async () => {
    const log = memoryLog();
    const stale: ErasureStep[] = [];
    const book = new ErasureBook(
      { readSteps: async () => stale, appendSteps: log.appendSteps },
      { refreshMs: 60_000 },
    );
    await book.request({ subject: 'q' }, null);
    await book.refresh();
    expect(book.all()).toHaveLength(1);
  });
});
