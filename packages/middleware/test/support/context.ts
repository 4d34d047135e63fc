/**
 * A HandlerContext for unit tests: a real AbortController behind `signal`,
 * and a ConsumerControl that records what middleware asked of it.
 */
import { silentLogger, type ConsumerControl, type HandlerContext, type Logger, type Message, type MessageHandler } from '@tributary/core';

export interface RecordingControl extends ConsumerControl {
  readonly calls: string[];
  readonly stopReasons: unknown[];
}

export function recordingControl(): RecordingControl {
  const calls: string[] = [];
  const stopReasons: unknown[] = [];
  return {
    calls,
    stopReasons,
    pause: () => void calls.push('pause'),
    resume: () => void calls.push('resume'),
    stop: (reason) => {
      calls.push('stop');
      stopReasons.push(reason);
    },
  };
}

export interface TestContext {
  readonly ctx: HandlerContext;
  readonly abort: AbortController;
  readonly control: RecordingControl;
}

export function testContext(overrides: { groupId?: string | undefined; attempt?: number; logger?: Logger } = {}): TestContext {
  const abort = new AbortController();
  const control = recordingControl();
  const ctx: HandlerContext = {
    signal: abort.signal,
    attempt: overrides.attempt ?? 1,
    groupId: 'groupId' in overrides ? overrides.groupId : 'test-group',
    logger: overrides.logger ?? silentLogger,
    control,
  };
  return { ctx, abort, control };
}

/** A Logger that keeps every call, for asserting what middleware logged. */
export interface LogEntry {
  readonly level: string;
  readonly bindings: Record<string, unknown>;
  readonly fields: Record<string, unknown>;
  readonly msg: string | undefined;
}

export function recordingLogger(entries: LogEntry[] = [], bindings: Record<string, unknown> = {}): Logger & { entries: LogEntry[] } {
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (typeof objOrMsg === 'string') entries.push({ level, bindings, fields: {}, msg: objOrMsg });
      else entries.push({ level, bindings, fields: objOrMsg as Record<string, unknown>, msg });
    };
  return {
    entries,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
  };
}

/** Calls `handler` and always returns a promise (a MessageHandler may return void). */
export async function run(handler: MessageHandler, message: Message, ctx: HandlerContext): Promise<void> {
  await handler(message, ctx);
}
