import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { printJson } from '../context.js';
import { bytes } from '../../wire/format.js';
import { Store } from '../../store/store.js';
import { invalid, notFound } from '../../errors.js';
import { isPostgresUrl } from '../../store/store.js';
import { quoteName } from '../../store/names.js';
import { backendConfigFromEnv } from '../config.js';

interface MigrateFlags {
  from: string;
  to: string;
  json?: boolean;
}

export async function action(flags: MigrateFlags): Promise<void> {
  if (!isPostgresUrl(flags.from) && !existsSync(flags.from)) throw notFound(`${flags.from}: no such store`);
  if (flags.from === flags.to || (!isPostgresUrl(flags.from) && !isPostgresUrl(flags.to) && resolve(flags.from) === resolve(flags.to))) {
    throw invalid('--from and --to name the same store');
  }
  const config = backendConfigFromEnv();
  const from = await Store.open(flags.from, config);
  try {
    const to = await Store.open(flags.to, config);
    try {
      const t0 = performance.now();
      const r = await Store.migrate(from, to, {
        onProgress: flags.json ? undefined : (p) => {
          if (p.event === 'copied') console.log(`copied ${p.model}: ${p.chunksCopied} chunks written, ${p.chunksPresent} already there`);
          else if (p.event === 'present') console.log(`${p.model}: already in the target, skipped`);
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      if (flags.json) return printJson({ ...r, seconds });
      console.log(`migrated ${r.models} model(s) from ${from.location} to ${to.location} in ${seconds.toFixed(2)} s: `
        + `${r.modelsCopied} copied, ${r.modelsPresent} already there; ${r.chunksCopied} chunks (${bytes(r.storedBytesCopied)}) written, ${r.chunksPresent} already there`);
      console.log(`verified ${r.filesVerified} file(s), ${bytes(r.bytesVerified)}: every one rebuilt from the target matches its SHA-256`);
      for (const l of r.legacyNames) {
        console.log(`note: ${l.model}${l.file === undefined ? '' : ` file ${quoteName(l.file)}`} breaks the name policy (${l.problem}); stored before it, it was copied as it is`);
      }
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
