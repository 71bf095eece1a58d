// Writes openapi/openapi.json from the route contracts (`npm run openapi`); `--check` exits 1 when the
// checked-in copy differs. The document is built from an app on a throw-away database.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { createApp, openApiDocument } from '../src/app';
import { bootstrap } from '../src/boot';
import { loadConfig } from '../src/config';
import { Vault } from '../src/crypto/vault';
import { createLogger } from '../src/lib/logger';

export async function renderOpenApi(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'controller-openapi-'));
  try {
    const config = loadConfig({ DB_URL: `file:${join(dir, 'db.sqlite')}`, ENCRYPTION_KEY: Vault.generateKey(), JOBS_ENABLED: 'false' });
    const ctx = await bootstrap({ config, logger: createLogger('silent'), createClient });
    try {
      return `${JSON.stringify(openApiDocument(createApp(ctx)), null, 2)}\n`;
    } finally {
      ctx.store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const target = new URL('../openapi/openapi.json', import.meta.url);
if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = await renderOpenApi();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {}
    if (current !== doc) {
      console.error('openapi/openapi.json is stale: run `npm run openapi`');
      process.exit(1);
    }
    console.log('openapi/openapi.json is up to date');
  } else {
    writeFileSync(target, doc);
    console.log('wrote openapi/openapi.json');
  }
}
