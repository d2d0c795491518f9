import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Corpus } from './corpus.js';
import { run, version, which } from './proc.js';
import { differingFiles } from './reference.js';
import { timed, timing } from './timing.js';
import type { Timing } from './timing.js';
import { median } from './units.js';

/**
 * General-purpose tools storing the same files, for comparison. Each gets a
 * fresh repository (or archive) per run in its own work dir: `setup` is not
 * timed (restic init, borg init), `store` is the import, `restore` the export
 * into an empty directory, which is then checked file by file against the
 * originals' SHA-256.
 */
interface Peer {
  tool: string;
  /** The exact commands, printed under the table. */
  commands: string;
  binaries: string[];
  versionOf: [string, string[]];
  /** The slowest peer runs once: three runs of zstd -19 would dominate the whole bench. */
  once?: boolean;
  /** Skip above this many bytes, with a message (zstd -19 takes minutes on a GiB). */
  maxBytes?: number;
  setup(w: Work): Promise<void>;
  store(w: Work): Promise<void>;
  restore(w: Work): Promise<void>;
  /** The repository or archive, whose size is the stored bytes. */
  stored(w: Work): string;
}

interface Work {
  dir: string;
  corpus: Corpus;
  /** NUL-separated relative paths of the corpus files, for `tar -T`. */
  list: string;
  restoreDir: string;
  env: NodeJS.ProcessEnv;
}

export interface PeerResult {
  tool: string;
  version: string;
  commands: string;
  /** Median over the runs: restic picks a random chunker polynomial per repository, so its size varies run to run. */
  storedBytes: number;
  storedRuns: number[];
  import: Timing;
  export: Timing;
  /** Files whose restored bytes differed from the originals, over all runs. */
  differing: string[];
  filesChecked: number;
  /** Set when the peer ran fewer times than the others. */
  runsNote?: string;
}

export interface PeerSkip {
  tool: string;
  reason: string;
}

const SLOW_PEER_MAX_BYTES = 256e6;

function tarZstd(level: string[], label: string, extra: Partial<Peer> = {}): Peer {
  const archive = (w: Work) => join(w.dir, 'corpus.tar.zst');
  return {
    tool: label,
    commands: `tar -C DIR -cf - FILES | zstd ${level.join(' ')} -o A; ${['zstd -d', ...level.filter((a) => a.startsWith('--long')), '-c A'].join(' ')} | tar -C OUT -xf -`,
    binaries: ['tar', 'zstd', 'bash'],
    versionOf: ['zstd', ['--version']],
    ...extra,
    async setup() {},
    async store(w) {
      // bash for the pipe; pipefail so that a failing tar is not hidden by zstd succeeding.
      await run('bash', ['-o', 'pipefail', '-c', 'tar -C "$1" --null -T "$2" -cf - | zstd -q "${@:4}" -o "$3"', 'bash',
        w.corpus.root, w.list, archive(w), ...level], { env: w.env });
    },
    async restore(w) {
      const long = level.filter((a) => a.startsWith('--long'));
      await run('bash', ['-o', 'pipefail', '-c', 'zstd -q -d -c "${@:3}" "$1" | tar -C "$2" -xf -', 'bash', archive(w), w.restoreDir, ...long], { env: w.env });
    },
    stored: archive,
  };
}

const PEERS: Peer[] = [
  {
    tool: 'restic',
    // restic 0.14 creates repository version 2 by default, which compresses (zstd, "auto" level).
    commands: 'restic init; restic backup FILES; restic restore latest --target OUT (defaults: repo v2, compression auto)',
    binaries: ['restic'],
    versionOf: ['restic', ['version']],
    async setup(w) {
      await run('restic', ['init', '-q', '-r', join(w.dir, 'repo')], { env: w.env });
    },
    async store(w) {
      await run('restic', ['backup', '-q', '-r', join(w.dir, 'repo'), '--', ...w.corpus.files.map((f) => f.rel)], { cwd: w.corpus.root, env: w.env });
    },
    async restore(w) {
      await run('restic', ['restore', '-q', '-r', join(w.dir, 'repo'), 'latest', '--target', w.restoreDir], { env: w.env });
    },
    stored: (w) => join(w.dir, 'repo'),
  },
  {
    tool: 'borg',
    commands: 'borg init -e none; borg create --compression zstd,3 REPO::a FILES; borg extract REPO::a',
    binaries: ['borg'],
    versionOf: ['borg', ['--version']],
    async setup(w) {
      await run('borg', ['init', '-e', 'none', join(w.dir, 'repo')], { env: w.env });
    },
    async store(w) {
      await run('borg', ['create', '--compression', 'zstd,3', `${join(w.dir, 'repo')}::a`, '--', ...w.corpus.files.map((f) => f.rel)], { cwd: w.corpus.root, env: w.env });
    },
    async restore(w) {
      await run('borg', ['extract', `${join(w.dir, 'repo')}::a`], { cwd: w.restoreDir, env: w.env });
    },
    stored: (w) => join(w.dir, 'repo'),
  },
  {
    tool: 'zpaq',
    // zpaq add compresses with its default method 1 (dedup by content-defined fragments, then LZ77), using every core.
    commands: 'zpaq add A FILES; zpaq extract A (in OUT; default method 1)',
    binaries: ['zpaq'],
    versionOf: ['zpaq', []],
    async setup() {},
    async store(w) {
      await run('zpaq', ['add', join(w.dir, 'a.zpaq'), ...w.corpus.files.map((f) => f.rel)], { cwd: w.corpus.root, env: w.env });
    },
    async restore(w) {
      // The archive holds the relative paths it was given: extracting in OUT recreates them there.
      await run('zpaq', ['extract', join(w.dir, 'a.zpaq')], { cwd: w.restoreDir, env: w.env });
    },
    stored: (w) => join(w.dir, 'a.zpaq'),
  },
  tarZstd(['-3'], 'tar | zstd -3'),
  tarZstd(['-19', '--long=27'], 'tar | zstd -19 --long=27', { once: true, maxBytes: SLOW_PEER_MAX_BYTES }),
];

/** Bytes of all files below `p` (or of `p` itself): the repository's size, like `du -sb` without directory entries. */
function treeBytes(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of readdirSync(p)) n += treeBytes(join(p, e));
  return n;
}

export interface PeerRuns {
  results: PeerResult[];
  skipped: PeerSkip[];
}

/**
 * `repeat` runs of each peer, one peer after the other. With `round` > 0 (the
 * bench's later rounds, see mergePeers) a peer that runs once is left out.
 */
export async function measurePeers(
  corpus: Corpus, hashes: Map<string, string>, tmp: string, repeat: number, log: (s: string) => void, round = 0,
): Promise<PeerRuns> {
  const results: PeerResult[] = [];
  const skipped: PeerSkip[] = [];
  const list = join(tmp, 'files.nul');
  writeFileSync(list, corpus.files.map((f) => `${f.rel}\0`).join(''));
  for (const peer of PEERS) {
    const missing = peer.binaries.filter((b) => !which(b));
    if (missing.length) {
      skipped.push({ tool: peer.tool, reason: `${missing.join(', ')} not installed` });
      log(`  ${peer.tool}: skipped, ${missing.join(', ')} not installed`);
      continue;
    }
    if (peer.maxBytes !== undefined && corpus.bytes > peer.maxBytes) {
      skipped.push({ tool: peer.tool, reason: `skipped above ${peer.maxBytes / 1e6} MB (it would take minutes)` });
      log(`  ${peer.tool}: skipped, corpus above ${peer.maxBytes / 1e6} MB`);
      continue;
    }
    if (peer.once && round > 0) continue;
    const runs = peer.once ? 1 : repeat;
    const imports: number[] = [];
    const exports: number[] = [];
    const differing = new Set<string>();
    const stored: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dir = join(tmp, `peer-${results.length}-${i}`);
      const w: Work = {
        dir, corpus, list, restoreDir: join(dir, 'restore'),
        // Caches and keys go under the work dir, so nothing is left in $HOME.
        env: {
          ...process.env, RESTIC_PASSWORD: 'tessera-bench', RESTIC_CACHE_DIR: join(dir, 'restic-cache'),
          BORG_BASE_DIR: join(dir, 'borg-home'), BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
          BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
        },
      };
      mkdirSync(w.restoreDir, { recursive: true });
      try {
        await peer.setup(w);
        imports.push((await timed(() => peer.store(w))).seconds);
        stored.push(treeBytes(peer.stored(w)));
        exports.push((await timed(() => peer.restore(w))).seconds);
        for (const f of differingFiles(w.restoreDir, corpus, hashes)) differing.add(f);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      log(`  ${peer.tool} run ${i + 1}/${runs}: store ${imports.at(-1)!.toFixed(2)} s, restore ${exports.at(-1)!.toFixed(2)} s`);
    }
    results.push({
      tool: peer.tool, version: await version(...peer.versionOf), commands: peer.commands,
      storedBytes: median(stored), storedRuns: stored,
      import: timing(imports), export: timing(exports), differing: [...differing], filesChecked: corpus.files.length,
      runsNote: runs < repeat ? `${runs} run` : undefined,
    });
  }
  rmSync(list, { force: true });
  return { results, skipped };
}

/**
 * The rounds of measurePeers as one result, as if each peer had run all its
 * runs at once: timings and stored sizes over every round, differing files
 * over all; a peer that ran in fewer rounds than the others says so.
 */
export function mergePeers(rounds: PeerRuns[]): PeerRuns {
  const first = rounds[0];
  if (!first) return { results: [], skipped: [] };
  const results = first.results.map((p) => {
    const all = rounds.flatMap((r) => r.results.filter((q) => q.tool === p.tool));
    const storedRuns = all.flatMap((q) => q.storedRuns);
    const imports = all.flatMap((q) => q.import.runs);
    return {
      ...p,
      storedBytes: median(storedRuns), storedRuns,
      import: timing(imports), export: timing(all.flatMap((q) => q.export.runs)),
      differing: [...new Set(all.flatMap((q) => q.differing))],
      runsNote: imports.length < rounds.length ? `${imports.length} run` : p.runsNote,
    };
  });
  return { results, skipped: first.skipped };
}
