/**
 * A version's serving configuration as the protocol's answers show it: flat
 * parameters in the model metadata, and Triton's model configuration
 * (GET /v2/models/{name}/config) for clients and tools that read Triton's.
 */
import { keyOf } from '../catalog.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import type { ModelSignature, TensorSpec } from '../oip/signature.js';
import { unbatchable } from '../scheduling/batching.js';
import { describePolicy } from '../../wire/serving-config.js';
import type { ServingConfig } from '../../wire/serving-config.js';
import { PLATFORM } from './models.js';

/** Why a version's requests are not batched although its configuration asks for it (or undefined). */
export function batchingProblem(ctx: ServeContext, v: CatalogVersion, sig: ModelSignature): string | undefined {
  return unbatchable(sig) ?? ctx.scheduler.batchingOff(keyOf(v.model));
}

export function platformOf(ctx: ServeContext, v: CatalogVersion): string {
  return ctx.inference.isEnsemble(v) ? 'ensemble' : PLATFORM;
}

/** The configuration as the metadata's flat parameters. */
export function configParameters(c: ServingConfig, problem: string | undefined): Record<string, string | number | boolean> {
  const batching = c.max_batch_size > 0 && problem === undefined;
  return {
    max_batch_size: c.max_batch_size,
    ...(c.preferred_batch_size.length ? { preferred_batch_size: c.preferred_batch_size.join(',') } : {}),
    max_queue_delay_microseconds: c.max_queue_delay_microseconds,
    max_queue_size: c.max_queue_size,
    ...(c.instances !== null ? { instances: c.instances } : {}),
    version_policy: describePolicy(c.version_policy),
    dynamic_batching: batching,
    ...(c.max_batch_size > 0 && problem !== undefined ? { dynamic_batching_off: problem } : {}),
  };
}

const tritonType = (t: TensorSpec): string => (t.datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${t.datatype}`);

/** Triton's model configuration JSON (model_config.proto's field names). */
export async function tritonConfig(ctx: ServeContext, v: CatalogVersion, sig: ModelSignature): Promise<Record<string, unknown>> {
  const c = ctx.catalog.config(v.model.name, v.model.version);
  const ensemble = ctx.inference.isEnsemble(v);
  const batched = c.max_batch_size > 0 && (ensemble || batchingProblem(ctx, v, sig) === undefined);
  // With batching, Triton's dims leave out the batch dimension.
  const tensor = (t: TensorSpec): Record<string, unknown> => ({ name: t.name, data_type: tritonType(t), dims: batched ? t.shape.slice(1) : t.shape });
  const p = c.version_policy;
  const policy = 'all' in p ? { all: {} } : 'latest' in p ? { latest: { num_versions: p.latest } } : { specific: { versions: p.specific } };
  const out: Record<string, unknown> = {
    name: v.model.name, platform: platformOf(ctx, v), version_policy: policy, max_batch_size: batched ? c.max_batch_size : 0,
    input: sig.inputs.map(tensor), output: sig.outputs.map(tensor),
  };
  if (ensemble) {
    const def = await ctx.inference.definition(v);
    out.ensemble_scheduling = {
      step: def.steps.map((s) => ({ model_name: s.model, model_version: s.version ?? -1, input_map: s.input_map, output_map: s.output_map })),
    };
  } else {
    out.instance_group = [{ count: ctx.models.instances(v), kind: 'KIND_CPU' }];
    if (batched) {
      out.dynamic_batching = {
        preferred_batch_size: c.preferred_batch_size, max_queue_delay_microseconds: c.max_queue_delay_microseconds,
        default_queue_policy: { max_queue_size: c.max_queue_size },
      };
    }
  }
  out.parameters = { version: { string_value: String(v.model.version) }, max_queue_size: { string_value: String(c.max_queue_size) } };
  return out;
}
