import { invalid } from '../../errors.js';
import { checkNewFilePath } from '../../store/names.js';

/**
 * The Hub's commit body (POST /api/models/{repo}/commit/{rev},
 * application/x-ndjson): a header line, then one line per operation, each
 * {"key": …, "value": …}. The keys @huggingface/hub and huggingface_hub send:
 * file (content in base64), lfsFile (an uploaded LFS object by SHA-256 and
 * size), deletedFile, deletedFolder.
 */
export type CommitOp =
  | { kind: 'file'; path: string; content: Buffer }
  | { kind: 'lfsFile'; path: string; oid: string; size: number }
  | { kind: 'deletedFile'; path: string }
  | { kind: 'deletedFolder'; path: string };

export interface CommitRequest {
  summary: string;
  parentCommit?: string;
  ops: CommitOp[];
}

/** Most operations one commit takes. */
export const COMMIT_OPS_MAX = 10_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(v: Record<string, unknown>, name: string, where: string): string {
  const x = v[name];
  if (typeof x !== 'string') throw invalid(`${where}: "${name}" must be a string`);
  return x;
}

/** One operation, `{"key": key, "value": v}`; `where` names it in errors (a commit line, a createRepo file). */
export function commitOp(key: string, v: Record<string, unknown>, where: string): CommitOp {
  const path = checkNewFilePath(field(v, 'path', where).replace(/\/$/, ''));
  switch (key) {
    case 'file': {
      const encoding = v.encoding ?? 'base64';
      if (encoding !== 'base64') throw invalid(`${where}: encoding "${String(encoding)}"; only base64 is taken`);
      const content = field(v, 'content', where);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) throw invalid(`${where}: content is not base64`);
      return { kind: 'file', path, content: Buffer.from(content, 'base64') };
    }
    case 'lfsFile': {
      const oid = field(v, 'oid', where);
      if (!/^[0-9a-f]{64}$/.test(oid)) throw invalid(`${where}: oid must be a SHA-256 in lowercase hex`);
      if (v.algo !== undefined && v.algo !== 'sha256') throw invalid(`${where}: algo "${String(v.algo)}"; only sha256`);
      const size = v.size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}: size must be a non-negative integer`);
      return { kind: 'lfsFile', path, oid, size };
    }
    case 'deletedFile':
      return { kind: 'deletedFile', path };
    case 'deletedFolder':
      return { kind: 'deletedFolder', path };
    default:
      throw invalid(`${where}: unknown key "${key.slice(0, 40)}" (file, lfsFile, deletedFile, deletedFolder)`);
  }
}

export function parseCommit(body: Buffer): CommitRequest {
  const lines = body.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw invalid('commit: empty body; expected NDJSON lines, the first {"key": "header", …}');
  if (lines.length - 1 > COMMIT_OPS_MAX) throw invalid(`commit: ${lines.length - 1} operations; at most ${COMMIT_OPS_MAX} per commit`);
  let summary = '';
  let parentCommit: string | undefined;
  const ops: CommitOp[] = [];
  lines.forEach((text, i) => {
    const n = i + 1;
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      throw invalid(`commit line ${n}: not JSON`);
    }
    if (!isObject(entry) || typeof entry.key !== 'string' || !isObject(entry.value)) throw invalid(`commit line ${n}: expected {"key": string, "value": object}`);
    const v = entry.value;
    if (i === 0) {
      if (entry.key !== 'header') throw invalid('commit line 1: the first line must be the header ({"key": "header", …})');
      summary = typeof v.summary === 'string' ? v.summary.slice(0, 1000) : '';
      if (v.parentCommit !== undefined && v.parentCommit !== null) {
        if (typeof v.parentCommit !== 'string' || !/^[0-9a-f]{40}$/.test(v.parentCommit)) throw invalid('commit header: parentCommit must be a 40-hex commit id');
        parentCommit = v.parentCommit;
      }
      return;
    }
    ops.push(commitOp(entry.key, v, `commit line ${n}`));
  });
  return { summary, ...(parentCommit ? { parentCommit } : {}), ops };
}
