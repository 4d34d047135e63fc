import type { LogFn, Logger } from '@tributary/core';

export interface LogEntry {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A Logger that keeps every entry (children share the parent's list). */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[];
  readonly trace: LogFn;
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;

  constructor(entries: LogEntry[] = []) {
    this.entries = entries;
    const at =
      (level: LogEntry['level']): LogFn =>
      (objOrMsg: object | string, msg?: string) => {
        if (typeof objOrMsg === 'string') this.entries.push({ level, obj: {}, msg: objOrMsg });
        else this.entries.push({ level, obj: objOrMsg as Record<string, unknown>, msg });
      };
    this.trace = at('trace');
    this.debug = at('debug');
    this.info = at('info');
    this.warn = at('warn');
    this.error = at('error');
  }

  child(): Logger {
    return new RecordingLogger(this.entries);
  }

  messages(level: LogEntry['level']): string[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.msg ?? '');
  }
}
