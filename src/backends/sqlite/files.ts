/** The files an SQLite store is made of: the database, and its rollback journal or WAL beside it when there is one. */
export function sqliteFiles(path: string): string[] {
  return ['', '-journal', '-wal', '-shm'].map((suffix) => path + suffix);
}
