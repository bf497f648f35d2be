// Structured logging: one JSON object per line on stderr (the default, for log collectors), or a
// human-readable line when run by hand (--log-format=text).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format?: 'json' | 'text';
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'json';
  const min = RANK[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    if (format === 'json') {
      write(JSON.stringify({ ts: now().toISOString(), level, msg, ...fields }));
    } else {
      const rest = fields ? Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
      write(`${level.toUpperCase().padEnd(5)} ${msg}${rest ? ' ' + rest : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that keeps what it is told, for tests. */
export function recordingLogger(): Logger & { lines: { level: LogLevel; msg: string; fields?: LogFields }[] } {
  const lines: { level: LogLevel; msg: string; fields?: LogFields }[] = [];
  const rec = (level: LogLevel) => (msg: string, fields?: LogFields) => { lines.push({ level, msg, fields }); };
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}
