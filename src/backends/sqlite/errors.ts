import { StoreFault, codeOf, wordsOf } from '../errors.js';

/**
 * An SQLite error as a StoreFault, or undefined when it is not an outside
 * failure. Each SQLite write is a statement or transaction of its own, rolled
 * back whole when it fails, so "nothing was kept" holds for all of them.
 */
export function sqliteFault(e: unknown, location: string, busyTimeoutMs: number): StoreFault | undefined {
  if (e instanceof StoreFault) return e;
  const code = codeOf(e);
  if (code === 'SQLITE_FULL') {
    return new StoreFault(location, `disk full (${wordsOf(e)}); nothing of the failed write was kept, free some space and retry`, e);
  }
  if (code.startsWith('SQLITE_BUSY')) {
    const waited = (busyTimeoutMs / 1000).toFixed(1);
    return new StoreFault(location, `the store is locked by another process (gave up after waiting ${waited} s, TESSERA_BUSY_TIMEOUT_MS); retry when it has finished`, e);
  }
  // A write the OS refused for another reason than ENOSPC (SQLite maps only that one to
  // SQLITE_FULL): EFBIG under a file size limit, EDQUOT, or a failing device.
  if (code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_TRUNCATE' || code === 'SQLITE_IOERR_FSYNC') {
    return new StoreFault(location, `could not write the database file (${code}: disk full, file size limit or I/O error); nothing of the failed write was kept`, e);
  }
  if (code === 'SQLITE_CANTOPEN') {
    return new StoreFault(location, `cannot open the store (${wordsOf(e)}): does its directory exist and is it writable?`, e);
  }
  return undefined;
}
