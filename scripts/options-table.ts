/**
 * The README's table of `tessera serve`'s settings, made from their
 * definitions (src/cli/serve-settings.ts), between the markers
 * `<!-- serve-settings -->` and `<!-- /serve-settings -->`.
 *
 *   npm run docs            rewrites the table in README.md
 *
 * test/cli/serve-config.test.ts fails when the README's table is not what
 * this makes, so a setting cannot change without its documentation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVE_SETTINGS, envName, fileKey } from '../src/cli/serve-settings.js';
import type { ServeSetting } from '../src/cli/serve-settings.js';
import { DEFAULT_CONFIG_FILE, DEFAULT_STORE } from '../src/cli/config.js';

export const BEGIN = '<!-- serve-settings -->';
export const END = '<!-- /serve-settings -->';

function defaultText(s: ServeSetting): string {
  if (s.defaultText !== undefined) return s.defaultText;
  if (s.default === undefined || (Array.isArray(s.default) && s.default.length === 0)) return 'none';
  return `\`${String(s.default)}\``;
}

/** A table cell: no line breaks or bars inside. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function optionsTable(): string {
  const rows = [
    '| flag | environment | `[serve]` key | default | what it does |',
    '|---|---|---|---|---|',
    `| \`--config <file>\` | \`TESSERA_CONFIG\` | | \`./${DEFAULT_CONFIG_FILE}\` when there is one | the config file (TOML) whose \`[serve]\` table holds these settings; \`tessera config check\` checks it and shows what \`serve\` would run with, each setting's source beside it. |`,
    `| \`--store <path>\` | \`TESSERA_STORE\` | \`store\` | \`${DEFAULT_STORE}\` | the store: a SQLite file or a \`postgres://\` URL. |`,
  ];
  for (const s of SERVE_SETTINGS) {
    rows.push(`| \`${s.flag}\` | \`${envName(s)}\` | \`${fileKey(s)}\` | ${defaultText(s)} | ${cell(s.doc)} |`);
  }
  return rows.join('\n');
}

/** The README with its table replaced by the one made now. */
export function withTable(readme: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the markers ${BEGIN} … ${END}`);
  return `${readme.slice(0, a + BEGIN.length)}\n${optionsTable()}\n${readme.slice(b)}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = join(dirname(fileURLToPath(import.meta.url)), '../../README.md');
  writeFileSync(path, withTable(readFileSync(path, 'utf8')));
  console.log(`${path}: the serve settings table rewritten (${SERVE_SETTINGS.length + 2} rows)`);
}
