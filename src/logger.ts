// The one logger: plain lines to stdout/stderr, with helpers that keep phone numbers and secrets out of them.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Whether a logger at `level` writes entries at `at`. */
export function writesAt(level: LogLevel, at: LogLevel): boolean {
  return ORDER[at] >= ORDER[level];
}

/** Creates a logger writing one line per entry at or above `level`; `sink` defaults to the console. */
export function createLogger(level: LogLevel, sink: (line: string, level: LogLevel) => void = defaultSink): Logger {
  const write = (at: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (!writesAt(level, at)) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${formatFields(fields)}` : '';
    sink(`${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${message}${extra}`, at);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/**
 * Writes to stdout (warnings and errors to stderr). A stream whose reader went away (EPIPE: `npm start | head`, a closed
 * terminal) must not take the app down: its errors are caught, and its lines go to the other stream, or nowhere.
 */
export function consoleSink(): (line: string, level: LogLevel) => void {
  const broken = new Set<NodeJS.WriteStream>();
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => broken.add(stream));
  }
  return (line, level) => {
    const preferred = level === 'error' || level === 'warn' ? process.stderr : process.stdout;
    const stream = [preferred, preferred === process.stdout ? process.stderr : process.stdout].find((s) => !broken.has(s) && s.writable);
    if (!stream) return;
    try {
      stream.write(`${line}\n`);
    } catch {
      broken.add(stream);
    }
  };
}

let sharedConsoleSink: ((line: string, level: LogLevel) => void) | undefined;

function defaultSink(line: string, level: LogLevel): void {
  sharedConsoleSink ??= consoleSink();
  sharedConsoleSink(line, level);
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`)
    .join(' ');
}

/** Masks a phone number for logs: keeps the last 3 digits (+1555***4567 -> ********567); client identities pass. */
export function maskNumber(value: string | undefined): string | undefined {
  if (!value) return value;
  if (value.startsWith('client:')) return value;
  const digits = value.replace(/\D/g, '');
  if (digits.length <= 3) return '***';
  return `${'*'.repeat(Math.max(3, digits.length - 3))}${digits.slice(-3)}`;
}
