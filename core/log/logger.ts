/**
 * @module log/logger
 * Structured diagnostic logging. Core code depends on the small {@link Logger} interface; the shell
 * (CLI, server, agent, Electron main) picks the sink. Every record passes through the redactor
 * before it reaches any sink. The ceremony transcript is a separate, signed record (core/transcript)
 * and is never written through this logger.
 *
 * Must never: write a record that has not been redacted.
 */
import { redactText, redactValue } from './redact.ts';

/** Severity levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A redacted log record as delivered to sinks. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  scope: string;
  msg: string;
  data?: Record<string, unknown>;
}

/** Where redacted records go. */
export type LogSink = (record: LogRecord) => void;

/** The logging interface core code receives. */
export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
  /** A logger whose records carry `scope` (`parent/child`). */
  child(scope: string): Logger;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  sinks: LogSink[];
  scope?: string;
  now?: () => Date;
}

/** Creates a logger that redacts every record before handing it to the sinks. */
export function createLogger(options: LoggerOptions): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const now = options.now ?? (() => new Date());
  const make = (scope: string): Logger => {
    const emit = (level: LogLevel, msg: string, data?: Record<string, unknown>): void => {
      if (LEVELS[level] < min) return;
      const record: LogRecord = { time: now().toISOString(), level, scope, msg: redactText(msg) };
      if (data !== undefined) record.data = redactValue(data) as Record<string, unknown>;
      for (const sink of options.sinks) sink(record);
    };
    return {
      debug: (m, d) => emit('debug', m, d),
      info: (m, d) => emit('info', m, d),
      warn: (m, d) => emit('warn', m, d),
      error: (m, d) => emit('error', m, d),
      child: (s) => make(scope === '' ? s : `${scope}/${s}`),
    };
  };
  return make(options.scope ?? '');
}

/** A sink writing one JSON object per line to a stream (stderr by default). */
export function jsonLineSink(stream: NodeJS.WritableStream = process.stderr): LogSink {
  return (r) => {
    stream.write(`${JSON.stringify(r)}\n`);
  };
}

/** A sink writing `time level scope: msg {data}` lines for people. */
export function textSink(stream: NodeJS.WritableStream = process.stderr): LogSink {
  return (r) => {
    const data = r.data === undefined ? '' : ` ${JSON.stringify(r.data)}`;
    stream.write(`${r.time} ${r.level.toUpperCase().padEnd(5)} ${r.scope === '' ? '' : `${r.scope}: `}${r.msg}${data}\n`);
  };
}

/** A logger that drops everything (for pure code paths and tests that do not look at logs). */
export const nullLogger: Logger = createLogger({ sinks: [] });

/** A sink that keeps records in memory (tests scan them for secrets). */
export function memorySink(): LogSink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = ((r: LogRecord) => {
    records.push(r);
  }) as LogSink & { records: LogRecord[] };
  sink.records = records;
  return sink;
}
