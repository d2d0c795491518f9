/**
 * The server's one log: every line goes through here, rate-limited per kind,
 * so that clients cannot flood it (any client can make inferences fail, ask
 * for a model marked unavailable, …). In each window a kind prints its first
 * `lines` lines; the rest are counted, and one line reports the count when
 * the window ends (or at flush, on shutdown). Lines are made single and
 * bounded: a message that quotes a client cannot forge log lines.
 */

/**
 * What a line is about; each kind has its own allowance. `onnxruntime`:
 * what onnxruntime printed itself (stderr-capture.ts); `stderr`: anything
 * else native code printed; `model`: a model loaded or unloaded.
 */
export type LogKind = 'error' | 'inference' | 'unavailable' | 'damaged' | 'onnxruntime' | 'stderr' | 'model';

/** Severities, most severe first: a server logs the lines at its level and above. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Each kind's level: a failed inference or a refused model is the client's business (warn), damage and server faults are errors. */
export const LEVEL_OF_KIND: Record<LogKind, LogLevel> = {
  error: 'error', damaged: 'error', inference: 'warn', unavailable: 'warn', onnxruntime: 'warn', stderr: 'warn', model: 'info',
};

/** Whether a line at `level` is logged by a server at `threshold`. */
export function logs(threshold: LogLevel, level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(threshold);
}

export interface RateLimit {
  /** Lines each kind prints per window. */
  lines: number;
  windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { lines: 10, windowMs: 60_000 };

/** Longest line printed; the rest of a longer one is cut (with a mark). */
export const MAX_LINE = 2000;

interface Window {
  printed: number;
  suppressed: number;
  timer: NodeJS.Timeout;
}

/** One line, printable: control characters (newlines included) escaped, at most MAX_LINE characters. */
export function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return flat.length > MAX_LINE ? `${flat.slice(0, MAX_LINE)}… (${flat.length - MAX_LINE} more characters)` : flat;
}

export class RateLimitedLog {
  private readonly windows = new Map<LogKind, Window>();

  constructor(private readonly sink: (line: string, kind: LogKind) => void, private readonly limit: RateLimit = DEFAULT_RATE_LIMIT) {}

  write(kind: LogKind, text: string): void {
    let w = this.windows.get(kind);
    if (!w) {
      // The window starts with its first line; its timer reports what it suppressed (unref'd: it must not keep the process up).
      const timer = setTimeout(() => this.close(kind), this.limit.windowMs);
      timer.unref();
      w = { printed: 0, suppressed: 0, timer };
      this.windows.set(kind, w);
    }
    if (w.printed < this.limit.lines) {
      w.printed++;
      this.sink(oneLine(text), kind);
    } else {
      w.suppressed++;
    }
  }

  /** Ends every window now, reporting what each suppressed (on shutdown). */
  flush(): void {
    for (const kind of [...this.windows.keys()]) this.close(kind);
  }

  private close(kind: LogKind): void {
    const w = this.windows.get(kind);
    if (!w) return;
    clearTimeout(w.timer);
    this.windows.delete(kind);
    if (w.suppressed > 0) {
      const s = w.suppressed === 1 ? 'line' : 'lines';
      this.sink(`… ${w.suppressed} more "${kind}" ${s} suppressed (at most ${this.limit.lines} per ${this.limit.windowMs / 1000} s)`, kind);
    }
  }
}
