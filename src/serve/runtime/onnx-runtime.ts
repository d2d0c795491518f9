import type { InferenceSession } from 'onnxruntime-node';
import { oipToOrt, ortToOip } from '../oip/datatypes.js';
import type { ModelSignature, TensorSpec } from '../oip/signature.js';
import type { HostTensor } from '../oip/tensor-codec.js';
import { RefusedRun } from './runtime-threads.js';
import type { RuntimeThreads, Session } from './runtime-threads.js';
import type { ExternalData, WireTensor } from './runtime-protocol.js';
import type { OutputTensor } from '../oip/infer.js';
import { TesseraError } from '../../errors.js';
import { DEFAULT_INSTANCES } from '../options.js';
import { checkOutputStrings } from '../oip/string-elements.js';
import { unbatchable } from '../scheduling/batching.js';
import type { RunResult, Runnable } from '../scheduling/scheduler.js';

export { NO_EXTERNAL_DATA_ON_DISK, sessionOptions } from './session-options.js';
export type { RuntimeOptions } from './session-options.js';
import { sessionOptions } from './session-options.js';
import type { RuntimeOptions } from './session-options.js';

function specOf(m: InferenceSession.ValueMetadata, what: string): TensorSpec {
  if (!m.isTensor) throw new Error(`${what} "${m.name}" is not a tensor (sequences and maps are not served)`);
  const datatype = ortToOip(m.type);
  if (!datatype) throw new Error(`${what} "${m.name}" has type ${m.type}, which the Open Inference Protocol cannot carry`);
  // Symbolic dimensions come as names (possibly empty): any size.
  return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

/** A run that onnxruntime refused (e.g. dimensions that disagree between inputs): the client's request, a 400. */
export class RunFailed extends TesseraError {
  constructor(message: string, cause: unknown) {
    super('invalid', `inference failed: ${message}`, { cause });
  }
}

/** A loaded ONNX model: its sessions on the runtime threads, and its signature in protocol terms. */
export class OnnxModel implements Runnable {
  readonly threads: readonly object[];
  readonly unbatchable: string | undefined;

  private constructor(private readonly sessions: Session[], readonly signature: ModelSignature) {
    this.threads = sessions.map((s) => s.threadKey);
    this.unbatchable = unbatchable(signature);
  }

  /**
   * Creates the model's sessions (opts.instances, each on a runtime thread of
   * its own) from its bytes in memory, with its external data files' bytes
   * (`external`) if it has any; no file is written. `bytes` and the external
   * data may be handed over to a thread: do not use them after this call.
   */
  static async create(bytes: Uint8Array, runtime: RuntimeThreads, opts: RuntimeOptions = {}, external: ExternalData[] = []): Promise<OnnxModel> {
    const { sessions, inputs, outputs } = await runtime.load(bytes, sessionOptions(opts), opts.instances ?? DEFAULT_INSTANCES, external);
    try {
      const signature = {
        inputs: inputs.map((m) => specOf(m, 'input')),
        outputs: outputs.map((m) => specOf(m, 'output')),
      };
      return new OnnxModel(sessions, signature);
    } catch (e) {
      await Promise.all(sessions.map((x) => x.release()));
      throw e;
    }
  }

  /** Sessions it runs on (each holds the model's weights). */
  get instances(): number {
    return this.sessions.length;
  }

  /** A runtime thread it had a session on has exited: the model must be loaded again. */
  get lost(): boolean {
    return this.sessions.some((s) => s.lost);
  }

  /**
   * Runs the model on its least busy instance; an error from onnxruntime is
   * a RunFailed (400). The inputs' memory goes to the runtime thread.
   */
  async run(inputs: HostTensor[], outputNames: string[]): Promise<OutputTensor[]> {
    const session = this.sessions.reduce((a, b) => (b.busy < a.busy ? b : a));
    return (await this.runSession(session, inputs, outputNames)).outputs;
  }

  /** Runs the model on one instance (the scheduler's choice). */
  runOn(instance: number, inputs: HostTensor[], outputNames: string[]): Promise<RunResult> {
    return this.runSession(this.sessions[instance]!, inputs, outputNames);
  }

  private async runSession(session: Session, inputs: HostTensor[], outputNames: string[]): Promise<RunResult> {
    let result: { tensors: WireTensor[]; runMs: number };
    try {
      result = await session.run(inputs.map((t) => ({ name: t.name, type: oipToOrt(t.datatype), dims: t.shape, data: t.data, keep: t.keep })), outputNames);
    } catch (e) {
      if (e instanceof RefusedRun) throw new RunFailed(e.message, e);
      throw e;
    }
    return { runMs: result.runMs, outputs: result.tensors.map((v) => {
      const datatype = ortToOip(v.type);
      if (!datatype) throw new Error(`output "${v.name}" has type ${v.type}, which the Open Inference Protocol cannot carry`);
      if (datatype === 'BYTES') checkOutputStrings(v.data as string[], v.name);
      return { name: v.name, datatype, shape: [...v.dims], data: v.data };
    }) };
  }

  async release(): Promise<void> {
    await Promise.all(this.sessions.map((x) => x.release()));
  }
}
