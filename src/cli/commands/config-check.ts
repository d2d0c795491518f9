import type { Command } from 'commander';
import { printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { table } from '../format.js';
import { loadServe } from '../serve-config.js';
import { SERVE_SETTINGS, envName, fileKey, longName } from '../serve-settings.js';
import type { ServeSetting } from '../serve-settings.js';
import { bytes } from '../../wire/format.js';

/** `tessera config check`: the settings `tessera serve` would run with (its flags aside), each with where it came from. */
export async function action(flags: { config?: string; json?: boolean }, cmd: Command): Promise<void> {
  // --json may be taken by the parent command (`config` has one too).
  const globals = cmd.optsWithGlobals<GlobalOptions & { json?: boolean; config?: string }>();
  const json = flags.json ?? globals.json;
  const r = loadServe({ flag: () => undefined, storeFlag: globals.store, configFlag: flags.config ?? globals.config });
  // A secret shows that it is set, never what it is.
  const shown = (s: ServeSetting): unknown => (s.secret && r.flags[s.name] !== undefined ? '(set)' : r.flags[s.name]);
  if (json) {
    return printJson({
      file: r.file ?? null, store: r.store,
      settings: SERVE_SETTINGS.map((s) => ({ setting: longName(s), env: envName(s), key: fileKey(s), value: shown(s) ?? null, source: r.sources[s.name] })),
    });
  }
  console.log(r.file ? `${r.file}: valid` : 'no config file (no --config, no $TESSERA_CONFIG, no ./tessera.toml)');
  const rows = [['store', r.store.location, r.store.source]];
  for (const s of SERVE_SETTINGS) {
    const v = shown(s);
    const text = v === undefined ? '-' : s.kind === 'size' ? `${bytes(v as number)}` : Array.isArray(v) ? (v.length ? v.join(', ') : '-') : String(v);
    rows.push([longName(s), text, r.sources[s.name]]);
  }
  console.log(table(['setting', 'value', 'source'], rows));
}
