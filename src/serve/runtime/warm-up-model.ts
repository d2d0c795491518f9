/**
 * The smallest useful ONNX model, which each runtime thread creates and runs
 * once before it reports ready: onnxruntime sets itself up on a thread's
 * first session (measured in a bare worker thread: Silero VAD's first session
 * 158-169 ms, later ones 49-62 ms, and 99 ms after this model), and a
 * server's first request should not pay for that.
 *
 * The bytes (125): ModelProto { ir_version 8, producer "tessera-test",
 * graph "identity" { node Identity x_FP32 -> y_FP32, input x_FP32 and output
 * y_FP32 float [n, 1] }, opset_import { "" 17 } }, as
 * test/serve/identity-model.ts's identityModel(1, ['FP32']) writes it.
 */
export const WARM_UP_MODEL = Buffer.from(
  'CAgSDHRlc3NlcmEtdGVzdDplCiMKBnhfRlAzMhIGeV9GUDMyGgdpZF9GUDMyIghJZGVudGl0eRIIaWRlbnRpdHlaGQoGeF9GUDMyEg8KDQgBEgkKAxIBbgoCCAFiGQoGeV9GUDMyEg8KDQgBEgkKAxIBbgoCCAFCBAoAEBE=',
  'base64',
);

/** Its one input and output. */
export const WARM_UP_INPUT = 'x_FP32';
