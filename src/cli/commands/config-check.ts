import type { Command } from 'commander';
import { printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { table } from '../format.js';
import { readConfigFile, resolveServe } from '../serve-config.js';
import { configPath, serveEnvironment } from '../config.js';
import { SERVE_SETTINGS, envName, fileKey, longName } from '../serve-settings.js';
import { bytes } from '../../wire/format.js';

/** `tessera config check`: the settings `tessera serve` would run with (its flags aside), each with where it came from. */
export async function action(flags: { config?: string; json?: boolean }, cmd: Command): Promise<void> {
  // --json may be taken by the parent command (`config` has one too).
  const globals = cmd.optsWithGlobals<GlobalOptions & { json?: boolean; config?: string }>();
  const json = flags.json ?? globals.json;
  const path = configPath(flags.config ?? globals.config);
  const file = path ? readConfigFile(path.path) : undefined;
  const r = resolveServe({ flag: () => undefined, storeFlag: globals.store, env: serveEnvironment(), file });
  const shown = (name: (typeof SERVE_SETTINGS)[number]['name']): unknown => {
    const s = SERVE_SETTINGS.find((x) => x.name === name)!;
    const v = r.flags[name];
    if (s.secret) return v === undefined ? undefined : '(set)';
    return v;
  };
  if (json) {
    return printJson({
      file: file?.path ?? null, store: r.store,
      settings: SERVE_SETTINGS.map((s) => ({ setting: longName(s), env: envName(s), key: fileKey(s), value: shown(s.name) ?? null, source: r.sources[s.name] })),
    });
  }
  console.log(file ? `${file.path}: valid` : `no config file (${path === undefined ? 'no --config, no $TESSERA_CONFIG, no ./tessera.toml' : path.path})`);
  const rows = [['store', r.store.location, r.store.source]];
  for (const s of SERVE_SETTINGS) {
    const v = shown(s.name);
    const text = v === undefined ? '-' : s.kind === 'size' ? `${bytes(v as number)}` : Array.isArray(v) ? (v.length ? v.join(', ') : '-') : String(v);
    rows.push([longName(s), text, r.sources[s.name]]);
  }
  console.log(table(['setting', 'value', 'source'], rows));
}
