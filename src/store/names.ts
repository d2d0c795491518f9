import { invalid } from '../errors.js';

/**
 * The one name policy: what a new model may be called and what a file inside
 * a model may be called, whichever door the name comes in by (`tessera
 * import`, an HTTP upload, `tessera migrate`). A refusal is an `invalid`
 * error that names the rule broken.
 *
 * The policy applies to names entering a store. Stores written before it may
 * hold names it refuses (`a//b`, a file path with a control character):
 * looking them up, serving, exporting and removing them keep working
 * (checkModelNameToFind, findStoredPath), and migrate copies them as they are.
 */

// ------------------------------------------------------------ model names

/**
 * Words the server's URLs put after a model name: /v2/models/{name}/files/…,
 * …/versions/{v}, …/infer, …/ready, /v2/repository/models/{name}/load and
 * …/unload (src/serve/routes/*.ts; a test checks every route's words are
 * here). A name with one of them as a part would read as a shorter name and
 * that URL: model `a/files/b`'s files would be model `a`'s file `b/files/…`.
 */
export const ROUTE_WORDS = ['files', 'versions', 'infer', 'ready', 'load', 'unload', 'config'] as const;

/**
 * Per-model endpoints the protocol's servers have (Triton's statistics,
 * trace and generate extensions), reserved now so that adding one
 * later cannot shadow a stored model.
 */
export const PROTOCOL_WORDS = ['stats', 'trace', 'generate', 'generate_stream'] as const;

const RESERVED: ReadonlySet<string> = new Set<string>([...ROUTE_WORDS, ...PROTOCOL_WORDS]);

/** Longest model name, in characters (names are ASCII). */
export const MODEL_NAME_MAX = 200;
/** Longest part of a model name between '/' (Hugging Face allows 96 for a repository name). */
export const MODEL_PART_MAX = 100;

/** Any name a store may hold, this policy's or an older one's (letters, digits, '.', '_', '-', '/'; a letter or digit first; no '..'). */
const STORABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,199}$/;

/** A string for a message: quoted, cut to a readable length, every invisible or control character as \uXXXX (a message may reach a terminal). */
export function quoteName(s: string, max = 80): string {
  const cut = [...s].length > max ? `${[...s].slice(0, max).join('')}…` : s;
  const escaped = cut.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\\"]/gu, (c) => {
    if (c === '\\' || c === '"') return `\\${c}`;
    const n = c.codePointAt(0)!;
    return n > 0xffff ? `\\u{${n.toString(16)}}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

/** Why a new model name breaks the policy, or undefined when it keeps it. */
export function modelNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MODEL_NAME_MAX) return `it is ${name.length} characters; at most ${MODEL_NAME_MAX}`;
  const bad = /[^A-Za-z0-9._\-/]/u.exec(name);
  if (bad) return `it has ${quoteName(bad[0])}; use letters, digits, '.', '_', '-', and '/' between namespace parts`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'it must start with a letter or a digit';
  if (name.endsWith('/')) return "it ends with '/'";
  if (name.includes('//')) return "it has an empty part ('//')";
  if (name.includes('..')) return "it has '..'";
  for (const part of name.split('/')) {
    if (part === '.') return "it has a '.' part";
    if (part.length > MODEL_PART_MAX) return `its part ${quoteName(part, 20)} is ${part.length} characters; at most ${MODEL_PART_MAX}`;
    if (RESERVED.has(part)) {
      return `its part "${part}" is a word the server's URLs use after a model name (reserved: ${[...RESERVED].join(', ')})`;
    }
  }
  return undefined;
}

/** A new model's name, or `invalid` naming the rule it breaks. */
export function checkNewModelName(name: string): string {
  const why = modelNameProblem(name);
  if (why !== undefined) throw invalid(`invalid model name ${quoteName(name)}: ${why}`);
  return name;
}

/**
 * A name to look a model up by: any a store may hold, names stored before
 * this policy included; a name no store can hold is `invalid`.
 */
export function checkModelNameToFind(name: string): string {
  if (!STORABLE_NAME.test(name) || name.includes('..')) {
    throw invalid(`invalid model name ${quoteName(name)}: use letters, digits, '.', '_', '-', '/' (up to ${MODEL_NAME_MAX} characters, no '..')`);
  }
  return name;
}

/**
 * A stored name that differs from `name` only in letter case, if any. Model
 * names are case-sensitive, but two that differ only in case are refused:
 * one would be taken for the other (`Llama` for `llama`), and Hugging Face
 * repository ids, which names will mirror, are unique regardless of case.
 */
export function caseTwin(name: string, stored: Iterable<string>): string | undefined {
  const folded = name.toLowerCase();
  for (const s of stored) if (s !== name && s.toLowerCase() === folded) return s;
  return undefined;
}

// ------------------------------------------------------------ file paths

/** Longest path inside a model, in UTF-8 bytes. */
export const PATH_MAX_BYTES = 1024;
/** Longest part of a path, in UTF-8 bytes: what file systems allow for a file name (ext4, XFS, APFS, NTFS). */
export const PATH_PART_MAX_BYTES = 255;

/** Characters that change how the text around them reads: bidirectional controls and line or paragraph separators. */
const INVISIBLE = /[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

const hex = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function controlClass(c: string): string {
  const n = c.codePointAt(0)!;
  return n < 0x20 ? 'C0' : n === 0x7f ? 'DEL' : 'C1';
}

/** Why a new file path breaks the policy (checked on its NFC form), or undefined when it keeps it. */
export function filePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'it is empty';
  const lone = /\p{Cs}/u.exec(path);
  if (lone) return `it has a lone surrogate (${hex(lone[0])}): not valid Unicode`;
  const ctl = /\p{Cc}/u.exec(path);
  if (ctl) return `it has the control character ${hex(ctl[0])} (${controlClass(ctl[0])})`;
  const inv = INVISIBLE.exec(path);
  if (inv) return `it has the invisible character ${hex(inv[0])}, which changes how the path reads`;
  if (path.includes('\\')) return "it has '\\'; separate directories with '/'";
  if (path.startsWith('/')) return "it starts with '/'; give a path relative to the model";
  if (path.endsWith('/')) return "it ends with '/'";
  const bytes = Buffer.byteLength(path);
  if (bytes > PATH_MAX_BYTES) return `it is ${bytes} bytes in UTF-8; at most ${PATH_MAX_BYTES}`;
  for (const part of path.split('/')) {
    if (part === '') return "it has an empty part ('//')";
    if (part === '.' || part === '..') return `it has a '${part}' part`;
    const n = Buffer.byteLength(part);
    if (n > PATH_PART_MAX_BYTES) return `its part ${quoteName(part, 20)} is ${n} bytes in UTF-8; at most ${PATH_PART_MAX_BYTES} (a file system's limit for a name)`;
  }
  return undefined;
}

/**
 * A new file path inside a model, normalized to NFC (the stored path, the
 * one its download URL and the file list show), or `invalid` naming the rule
 * it breaks. NFC at the door: the same name typed on macOS (NFD) and on
 * Linux (NFC) is one file.
 */
export function checkNewFilePath(path: string): string {
  const nfc = path.normalize('NFC');
  const why = filePathProblem(nfc);
  if (why !== undefined) throw invalid(`invalid file path ${quoteName(path)}: ${why}`);
  return nfc;
}

/**
 * Why a stored path is unsafe to write below a directory or to copy (the
 * rules every store ever kept: relative, no empty, '.' or '..' part, no NUL),
 * or undefined. Paths stored before the policy may break it and still pass this.
 */
export function storedPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'it is empty';
  if (path.includes('\0')) return 'it has a NUL character';
  if (path.startsWith('/')) return "it starts with '/'";
  if (path.split('/').some((p) => p === '' || p === '.' || p === '..')) return "it has an empty, '.' or '..' part";
  return undefined;
}

/** The stored path a requested one names: the same string, else the same once both are NFC (a stored path kept as imported before the policy normalized them). */
export function findStoredPath<T extends { path: string }>(files: readonly T[], requested: string): T | undefined {
  const exact = files.find((f) => f.path === requested);
  if (exact) return exact;
  const nfc = requested.normalize('NFC');
  return files.find((f) => f.path.normalize('NFC') === nfc);
}

/**
 * The lock key (Backend.lockKey) of a model name's versions: an import or a
 * removal holds it for its transaction, so two imports of one name through
 * two servers take turns (the second sees the first's version: the same files
 * make no second version). Letter case folded: names differing only in case
 * are refused, and that check needs the same turns.
 */
export const modelWriteLock = (name: string): string => `model:${name.toLowerCase()}`;
