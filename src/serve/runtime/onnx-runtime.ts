import ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { oipToOrt, ortToOip } from '../oip/datatypes.js';
import type { ModelSignature, TensorSpec } from '../oip/signature.js';
import type { HostTensor, TensorData } from '../oip/tensor-codec.js';
import type { OutputTensor } from '../oip/infer.js';
import { TesseraError } from '../../errors.js';
import { checkOutputStrings } from '../oip/string-elements.js';

export interface RuntimeOptions {
  /** Threads for one operator (onnxruntime's intra-op pool); default: onnxruntime's choice (the cores). */
  intraOpThreads?: number;
}

/** The session options the server uses; tests use the same ones to run the original file. */
export function sessionOptions(opts: RuntimeOptions = {}): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    // onnxruntime would print a few lines to stderr for every failed run (any client can cause one): fatal only. What it
    // has to say comes back in the error, which the server logs, rate-limited (log.ts).
    logSeverityLevel: 4,
    ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
  };
}

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

/** A loaded ONNX model: an onnxruntime session and its signature in protocol terms. */
export class OnnxModel {
  private constructor(private readonly session: InferenceSession, readonly signature: ModelSignature) {}

  /**
   * Creates a session from the model's bytes in memory (no file is written).
   * The bytes can be dropped once this returns: onnxruntime keeps its own copy.
   */
  static async create(bytes: Uint8Array, opts: RuntimeOptions = {}): Promise<OnnxModel> {
    const session = await ort.InferenceSession.create(bytes, sessionOptions(opts));
    try {
      const signature = {
        inputs: session.inputMetadata.map((m) => specOf(m, 'input')),
        outputs: session.outputMetadata.map((m) => specOf(m, 'output')),
      };
      return new OnnxModel(session, signature);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Runs the model; an error from onnxruntime is a RunFailed (400). */
  async run(inputs: HostTensor[], outputNames: string[]): Promise<OutputTensor[]> {
    const feeds: Record<string, Tensor> = {};
    for (const t of inputs) feeds[t.name] = makeTensor(t);
    let result: InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feeds, outputNames);
    } catch (e) {
      throw new RunFailed((e as Error).message, e);
    }
    return outputNames.map((name) => {
      const v = result[name];
      if (!v) throw new Error(`onnxruntime returned no output "${name}"`);
      const datatype = ortToOip(v.type);
      if (!datatype) throw new Error(`output "${name}" has type ${v.type}, which the Open Inference Protocol cannot carry`);
      if (datatype === 'BYTES') checkOutputStrings(v.data as string[], name);
      return { name, datatype, shape: [...v.dims], data: v.data as TensorData };
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function makeTensor(t: HostTensor): Tensor {
  const type = oipToOrt(t.datatype);
  // The Tensor constructor's overloads pair each type with its array type; the codec built the matching one.
  const Ctor = ort.Tensor as unknown as new (type: string, data: TensorData, dims: readonly number[]) => Tensor;
  return new Ctor(type, t.data, t.shape);
}
