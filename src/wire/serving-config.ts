/**
 * A model's serving configuration: how the server batches, queues and runs
 * it, and which of its versions it serves. Kept in the store with the model
 * (table serving_configs), set with `tessera config`, PUT
 * /v2/repository/models/{name}[/versions/{v}]/config and read back by the
 * dashboard and GET /v2/models/{name}/config (Triton's shape there).
 *
 * Stored and sent as JSON with snake_case keys (the names Triton's config
 * uses where it has them). A stored config holds only the keys set at its
 * level: the effective one is the defaults, then the model's (every
 * version), then the version's own. The version policy is the model's only.
 */

/** Which versions of a model the server serves (Triton's version_policy). */
export type VersionPolicy =
  | { all: true }
  | { latest: number }
  | { specific: number[] };

export interface ServingConfig {
  /** Rows (dimension 0) a batched run may hold; 0 = no dynamic batching. */
  max_batch_size: number;
  /** Batch sizes the batcher forms when it can (empty: as large as max_batch_size allows). */
  preferred_batch_size: number[];
  /** How long a request may wait in the queue for others to batch with, in microseconds. */
  max_queue_delay_microseconds: number;
  /** Sessions of the model, each on a runtime thread of its own; null = the server's --instances. */
  instances: number | null;
  /** Requests waiting for a run at most; past it: 429 with Retry-After. */
  max_queue_size: number;
  version_policy: VersionPolicy;
}

/** What one level stores: the keys set there. */
export type ServingConfigPatch = Partial<ServingConfig>;

export const SERVING_CONFIG_DEFAULTS: Readonly<ServingConfig> = Object.freeze<ServingConfig>({
  max_batch_size: 0,
  preferred_batch_size: [],
  max_queue_delay_microseconds: 0,
  instances: null,
  max_queue_size: 128,
  version_policy: { all: true },
});

/**
 * A model's serving configuration as stored (GET and PUT
 * /v2/repository/models/{name}[/versions/{v}]/config, `tessera config --json`):
 * each level's keys and the effective whole.
 */
export interface ServingConfigView {
  name: string;
  /** Set when the view is of one version. */
  version?: number;
  /** The keys the model sets (every version). */
  model: ServingConfigPatch;
  /** The keys the version sets itself (a version's view only). */
  own?: ServingConfigPatch;
  effective: ServingConfig;
  /** A merged configuration that contradicts itself (it cannot be stored so; shown for older rows). */
  problem?: string;
}

/** Bounds: what a single model may ask of one server. */
export const SERVING_CONFIG_LIMITS = Object.freeze({
  maxBatchSize: 4096,
  maxQueueDelayMicroseconds: 10_000_000,
  maxInstances: 16,
  maxQueueSize: 100_000,
  maxVersions: 1000,
  maxPreferred: 16,
});

export const SERVING_CONFIG_KEYS: readonly (keyof ServingConfig)[] = [
  'max_batch_size', 'preferred_batch_size', 'max_queue_delay_microseconds', 'instances', 'max_queue_size', 'version_policy',
];

export class ServingConfigError extends Error {}

function fail(what: string, why: string): never {
  throw new ServingConfigError(`${what}: ${why}`);
}

function intIn(v: unknown, key: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) fail(key, `must be an integer from ${lo} to ${hi}, not ${JSON.stringify(v)}`);
  return v;
}

function versionPolicyOf(v: unknown): VersionPolicy {
  const L = SERVING_CONFIG_LIMITS;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('version_policy', 'must be {"all": true}, {"latest": N} or {"specific": [versions]}');
  const keys = Object.keys(v);
  if (keys.length !== 1) fail('version_policy', 'must have exactly one of "all", "latest", "specific"');
  const o = v as Record<string, unknown>;
  if ('all' in o) {
    if (o.all !== true) fail('version_policy.all', 'must be true');
    return { all: true };
  }
  if ('latest' in o) return { latest: intIn(o.latest, 'version_policy.latest', 1, L.maxVersions) };
  if ('specific' in o) {
    const s = o.specific;
    if (!Array.isArray(s) || s.length === 0 || s.length > L.maxVersions) fail('version_policy.specific', `must list 1 to ${L.maxVersions} versions`);
    const versions = [...new Set(s.map((x, i) => intIn(x, `version_policy.specific[${i}]`, 1, 999_999_999)))].sort((a, b) => a - b);
    return { specific: versions };
  }
  return fail('version_policy', `unknown policy "${keys[0]}": use "all", "latest" or "specific"`);
}

/**
 * Reads a patch (PUT body, stored JSON): every key known and in bounds; a
 * null value means "unset at this level" and is kept as undefined-to-be in
 * `unset`. `forVersion`: a version's own level, where version_policy has no place.
 */
export function parseServingConfigPatch(v: unknown, forVersion: boolean): { set: ServingConfigPatch; unset: (keyof ServingConfig)[] } {
  const L = SERVING_CONFIG_LIMITS;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ServingConfigError('the serving configuration must be a JSON object');
  const set: ServingConfigPatch = {};
  const unset: (keyof ServingConfig)[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!(SERVING_CONFIG_KEYS as readonly string[]).includes(k)) fail(k, `unknown key; the keys are ${SERVING_CONFIG_KEYS.join(', ')}`);
    const key = k as keyof ServingConfig;
    if (key === 'version_policy' && forVersion) fail(k, 'applies to the model (every version): set it without a version');
    if (x === null) {
      unset.push(key);
      continue;
    }
    switch (key) {
      case 'max_batch_size': set.max_batch_size = intIn(x, k, 0, L.maxBatchSize); break;
      case 'max_queue_delay_microseconds': set.max_queue_delay_microseconds = intIn(x, k, 0, L.maxQueueDelayMicroseconds); break;
      case 'instances': set.instances = intIn(x, k, 1, L.maxInstances); break;
      case 'max_queue_size': set.max_queue_size = intIn(x, k, 1, L.maxQueueSize); break;
      case 'version_policy': set.version_policy = versionPolicyOf(x); break;
      case 'preferred_batch_size': {
        if (!Array.isArray(x) || x.length > L.maxPreferred) fail(k, `must be a list of at most ${L.maxPreferred} batch sizes`);
        set.preferred_batch_size = [...new Set(x.map((b, i) => intIn(b, `${k}[${i}]`, 1, L.maxBatchSize)))].sort((a, b) => a - b);
        break;
      }
    }
  }
  return { set, unset };
}

/** The effective configuration: defaults, then each level's keys in order. Checks what only the whole can tell. */
export function effectiveConfig(...levels: (ServingConfigPatch | undefined)[]): ServingConfig {
  const out: ServingConfig = { ...SERVING_CONFIG_DEFAULTS, preferred_batch_size: [], version_policy: SERVING_CONFIG_DEFAULTS.version_policy };
  for (const l of levels) if (l) Object.assign(out, l);
  return out;
}

/** What makes a merged configuration contradict itself, or undefined. */
export function configProblem(c: ServingConfig): string | undefined {
  const over = c.preferred_batch_size.find((b) => b > c.max_batch_size);
  if (over !== undefined && c.max_batch_size > 0) return `preferred_batch_size ${over} is more than max_batch_size ${c.max_batch_size}`;
  if (c.max_batch_size === 0 && c.preferred_batch_size.length > 0) return 'preferred_batch_size needs max_batch_size > 0 (dynamic batching)';
  return undefined;
}

/** The versions a policy serves, of those stored (ascending). */
export function servedVersions(policy: VersionPolicy, stored: readonly number[]): number[] {
  const sorted = [...stored].sort((a, b) => a - b);
  if ('all' in policy) return sorted;
  if ('latest' in policy) return sorted.slice(Math.max(0, sorted.length - policy.latest));
  const want = new Set(policy.specific);
  return sorted.filter((v) => want.has(v));
}

/** The policy in words: "all versions", "the latest 2", "versions 1, 3". */
export function describePolicy(p: VersionPolicy): string {
  if ('all' in p) return 'all versions';
  if ('latest' in p) return p.latest === 1 ? 'the latest version' : `the latest ${p.latest} versions`;
  return `version${p.specific.length > 1 ? 's' : ''} ${p.specific.join(', ')}`;
}
