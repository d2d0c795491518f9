import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real "no room left" conditions for tests, not mocked fs calls: a
 * size-limited tmpfs that fills up (ENOSPC), or, where this process may not
 * mount, RLIMIT_FSIZE on the child process (EFBIG past the limit).
 */

/** A mounted, size-limited tmpfs; room is added back by remounting it bigger. */
export interface Tmpfs {
  dir: string;
  resize(bytes: number): void;
  /** Bytes in use and the size of the file system. */
  usage(): { used: number; size: number };
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` at `dir` (created), or says why it cannot. */
export function mountTmpfs(dir: string, bytes: number): Tmpfs | string {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return ((e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message).split('\n')[0]!;
  }
  let mounted = true;
  return {
    dir,
    resize: (n) => execFileSync('mount', ['-o', `remount,size=${n}`, dir], { stdio: 'pipe' }),
    usage: () => {
      const s = statfsSync(dir);
      return { used: (s.blocks - s.bfree) * s.bsize, size: s.blocks * s.bsize };
    },
    unmount: () => {
      if (!mounted) return;
      mounted = false;
      // Lazily when busy, so a failed test never leaves the mount behind.
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type FullDiskMechanism = { kind: 'tmpfs' } | { kind: 'rlimit'; why: string } | { kind: 'none'; why: string };

/**
 * Which mechanism this machine allows: a tmpfs when mounting works (root with
 * CAP_SYS_ADMIN), else RLIMIT_FSIZE through bash's `ulimit -f`.
 * TESSERA_TEST_FULL_DISK=rlimit picks the fallback (to test it where tmpfs works).
 */
export function fullDiskMechanism(): FullDiskMechanism {
  let why = 'TESSERA_TEST_FULL_DISK=rlimit';
  if (process.env.TESSERA_TEST_FULL_DISK !== 'rlimit') {
    const probe = mkdtempSync(join(tmpdir(), 'tessera-tmpfs-probe-'));
    const t = mountTmpfs(join(probe, 'mnt'), 1 << 20);
    if (typeof t !== 'string') t.unmount();
    rmSync(probe, { recursive: true, force: true });
    if (typeof t !== 'string') return { kind: 'tmpfs' };
    why = `cannot mount a tmpfs here (${t})`;
  }
  const ulimit = spawnSync('bash', ['-c', 'ulimit -f 1024 && trap "" XFSZ'], { encoding: 'utf8' });
  if (ulimit.status === 0) return { kind: 'rlimit', why };
  return { kind: 'none', why: `${why}, and bash's ulimit -f is not available (${ulimit.error?.message ?? ulimit.stderr.trim()})` };
}
