import { defineConfig } from 'drizzle-kit';

// PostgreSQL migrations, from the schema scripts/gen-pg-schema.ts derives from the SQLite tables.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/pg/schema.ts',
  out: './db/migrations-pg',
});
