import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { table } from '../format.js';
import { parseModelRef } from '../../store/model-ref.js';
import { parsePatchOrInvalid } from '../../store/serving-configs.js';
import type { ServingConfigView } from '../../store/serving-configs.js';
import { SERVING_CONFIG_KEYS, describePolicy } from '../../wire/serving-config.js';
import type { ServingConfig } from '../../wire/serving-config.js';

export interface ConfigFlags {
  maxBatchSize?: number;
  preferredBatchSizes?: number[];
  maxQueueDelay?: number;
  instances?: number;
  maxQueueSize?: number;
  versionPolicy?: ServingConfig['version_policy'];
  unset?: string[];
  reset?: boolean;
  json?: boolean;
}

/** A key as the CLI may spell it (kebab or snake case). */
function keyOf(k: string): keyof ServingConfig {
  const snake = k.replace(/^--/, '').replace(/-/g, '_');
  const alias: Record<string, keyof ServingConfig> = { preferred_batch_sizes: 'preferred_batch_size', max_queue_delay: 'max_queue_delay_microseconds' };
  const key = alias[snake] ?? snake;
  if (!(SERVING_CONFIG_KEYS as readonly string[]).includes(key)) {
    throw new InvalidArgumentError(`--unset: unknown setting "${k}"; the settings are ${SERVING_CONFIG_KEYS.join(', ')}`);
  }
  return key as keyof ServingConfig;
}

const delayText = (us: number): string => (us === 0 ? '0 (run at once)' : us % 1000 === 0 ? `${us / 1000} ms` : `${us} µs`);

/** Each setting: its value in words, and the level it comes from. */
export function configRows(v: ServingConfigView): string[][] {
  const c = v.effective;
  const from = (k: keyof ServingConfig): string => (v.own?.[k] !== undefined ? `version ${v.version}` : v.model[k] !== undefined ? 'model' : 'default');
  return [
    ['max_batch_size', c.max_batch_size === 0 ? '0 (no dynamic batching)' : String(c.max_batch_size), from('max_batch_size')],
    ['preferred_batch_size', c.preferred_batch_size.length ? c.preferred_batch_size.join(', ') : '(none)', from('preferred_batch_size')],
    ['max_queue_delay_microseconds', delayText(c.max_queue_delay_microseconds), from('max_queue_delay_microseconds')],
    ['instances', c.instances === null ? "the server's --instances" : String(c.instances), from('instances')],
    ['max_queue_size', String(c.max_queue_size), from('max_queue_size')],
    ['version_policy', describePolicy(c.version_policy), from('version_policy')],
  ];
}

export async function action(ref: string, flags: ConfigFlags, cmd: Command): Promise<void> {
  const mref = parseModelRef(ref);
  const raw: Record<string, unknown> = {};
  if (flags.maxBatchSize !== undefined) raw.max_batch_size = flags.maxBatchSize;
  if (flags.preferredBatchSizes !== undefined) raw.preferred_batch_size = flags.preferredBatchSizes;
  if (flags.maxQueueDelay !== undefined) raw.max_queue_delay_microseconds = flags.maxQueueDelay;
  if (flags.instances !== undefined) raw.instances = flags.instances;
  if (flags.maxQueueSize !== undefined) raw.max_queue_size = flags.maxQueueSize;
  if (flags.versionPolicy !== undefined) raw.version_policy = flags.versionPolicy;
  const { set } = parsePatchOrInvalid(raw, mref.version !== undefined);
  const unset = (flags.unset ?? []).map(keyOf);
  const changing = Object.keys(set).length > 0 || unset.length > 0 || flags.reset === true;
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const v = changing ? await store.configure(mref, { set, unset, reset: flags.reset }) : await store.servingConfig(mref);
    if (flags.json) return printJson(v);
    const what = v.version !== undefined ? `${v.name}:${v.version}` : `${v.name} (every version)`;
    console.log(`serving configuration of ${what}${changing ? ', changed' : ''}`);
    console.log(table(['setting', 'value', 'set by'], configRows(v)));
    if (v.problem) console.log(`\nwarning: ${v.problem}`);
    if (changing) console.log('\na running server applies it to requests that arrive from now on (sessions are recreated when instances change)');
  });
}
