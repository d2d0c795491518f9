/**
 * The onnxruntime session options every session of the server (and of
 * `tessera approx`) is made with. A module of its own so that a command that
 * only evaluates models does not load the server to get them.
 */
import type { InferenceSession } from 'onnxruntime-node';

export interface RuntimeOptions {
  /** Threads for one operator (onnxruntime's intra-op pool); default: onnxruntime's choice (the cores). */
  intraOpThreads?: number;
  /** Sessions per model, each on a runtime thread of its own: runs of one model at once (default DEFAULT_INSTANCES). */
  instances?: number;
  /** onnxruntime's own logging, 0 (verbose) to 4 (fatal); default 4 (see sessionOptions). */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
}

/**
 * Where onnxruntime would look for external data files on disk: a folder that
 * cannot exist (no one can create files in /proc/self). Models come from the
 * store's memory, their external data too (externalData); without this,
 * onnxruntime reads an external location it was not given (one in an If/Loop
 * body, whose in-memory data it ignores) from the server's working directory.
 */
export const NO_EXTERNAL_DATA_ON_DISK = '/proc/self/tessera-external-data-comes-from-memory';

/** The session options the server uses; tests use the same ones to run the original file. */
export function sessionOptions(opts: RuntimeOptions = {}): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    extra: { session: { model_external_initializers_file_folder_path: NO_EXTERNAL_DATA_ON_DISK } },
    // onnxruntime would print a few lines to stderr for every failed run (any client can cause one): fatal only. What it
    // has to say comes back in the error, which the server logs, rate-limited (log.ts). At --log-level debug its
    // warnings too, which the server's log takes in (stderr-capture.ts).
    logSeverityLevel: opts.logSeverity ?? 4,
    ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
  };
}

