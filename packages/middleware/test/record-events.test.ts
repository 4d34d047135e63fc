import { buildMessage } from '@tributary/testutil';
import { emitRecordEvent, observeRecord, type RecordEvent } from '@tributary/middleware';
import { recordingLogger, testContext } from './support/context';

const message = buildMessage();

describe('record events', () => {
  it('reach every observer on the context, innermost first, and survive context copies', () => {
    const seen: string[] = [];
    const { ctx } = testContext();
    const outer = observeRecord(ctx, (e) => seen.push(`outer:${e.type}`));
    const inner = observeRecord(outer, (e) => seen.push(`inner:${e.type}`));
    const copied = { ...inner, signal: new AbortController().signal };
    emitRecordEvent(copied, message, { type: 'duplicate', id: 'e1' });
    expect(seen).toEqual(['inner:duplicate', 'outer:duplicate']);
  });

  it('do not reach observers of other contexts, and cost nothing without observers', () => {
    const seen: RecordEvent[] = [];
    const { ctx } = testContext();
    observeRecord(ctx, (e) => seen.push(e));
    emitRecordEvent(ctx, message, { type: 'retry', error: new Error('x'), attempt: 1, delayMs: 5 });
    expect(seen).toEqual([]);
  });

  it('log and ignore an observer that throws; the others still hear the event', () => {
    const logger = recordingLogger();
    const seen: RecordEvent[] = [];
    const ctx = observeRecord(
      observeRecord(testContext({ logger }).ctx, (e) => seen.push(e)),
      () => {
        throw new Error('observer bug');
      },
    );
    emitRecordEvent(ctx, message, { type: 'duplicate', id: 'e1' });
    expect(seen).toHaveLength(1);
    expect(logger.entries.map((e) => e.level)).toEqual(['warn']);
  });
});
