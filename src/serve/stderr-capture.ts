/**
 * What native code prints on the process's stderr, logged as the server's
 * own lines: onnxruntime's logger writes to std::cerr from the runtime
 * threads, and onnxruntime-node has no hook to take its messages instead.
 * The addon (native/stderr.c) puts a pipe on fd 2; this reads it without
 * blocking (a libuv pipe, not the thread pool) and hands each line on:
 * onnxruntime's, parsed, as kind `onnxruntime`, anything else as `stderr`.
 * The log itself, and everything Node writes to process.stderr, goes to the
 * former fd 2 directly, never through the pipe (the main thread reads it:
 * writing into it from there could fill it and wait on itself).
 *
 * The CLI captures only at --log-level debug, the one level at which
 * onnxruntime logs anything: what a native crash prints as it aborts the
 * process lands in the pipe and dies unread with it.
 */
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { nativePlanes } from '../codec/native.js';
import type { LogKind } from './log.js';

/** One line of onnxruntime's default logger: time, [severity:logger:id, location] message. */
const ORT_LINE = /^\S+ \S+ \[([VIWEF]):onnxruntime:[^,\]]*,\s*([^\]]*)\]\s?(.*)$/;
const SEVERITY: Record<string, string> = { V: 'verbose', I: 'info', W: 'warning', E: 'error', F: 'fatal' };
const COLOUR = /\u001b\[[0-9;]*m/g;

/** A line read off the pipe, as the log's kind and text. */
export function parseNativeLine(raw: string): { kind: LogKind; text: string } {
  const line = raw.replace(COLOUR, '');
  const m = ORT_LINE.exec(line);
  if (!m) return { kind: 'stderr', text: line };
  return { kind: 'onnxruntime', text: `onnxruntime ${SEVERITY[m[1]!]} (${m[2]!.trim()}): ${m[3]!}` };
}

export interface StderrCapture {
  /** Writes to the former stderr (the log's own lines go here). */
  write(text: string): void;
}

/**
 * Captures fd 2 for the rest of the process (a CLI server's), calling
 * `onLine` for each line native code prints. Undefined where the addon is
 * not built (or predates the capture): stderr then stays as it is.
 */
export function captureStderr(onLine: (kind: LogKind, text: string) => void): StderrCapture | undefined {
  const fds = nativePlanes?.captureStderr?.();
  if (!fds) return undefined;
  const [readFd, originalFd] = fds;
  const write = (text: string): void => {
    try {
      writeSync(originalFd, text);
    } catch {
      // Nowhere left to say it.
    }
  };
  // Node's own writes (warnings, console.error) go straight to the former stderr.
  process.stderr.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), cb?: (e?: Error | null) => void): boolean => {
    write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : cb;
    done?.(null);
    return true;
  }) as typeof process.stderr.write;
  const pipe = new Socket({ fd: readFd, readable: true, writable: false });
  // It must not keep the process alive on its own.
  pipe.unref();
  let partial = '';
  pipe.setEncoding('utf8');
  pipe.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (l.trim() === '') continue;
      const { kind, text: t } = parseNativeLine(l);
      onLine(kind, t);
    }
  });
  pipe.on('error', () => {});
  return { write };
}
