import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';

/**
 * The PostgreSQL driver (postgres.js) and drizzle's binding for it, handed to bootstrap by the entry
 * points: the server imports this module only for a postgres:// DB_URL (it is a chunk of its own in the
 * bundle); the Workers entry wraps it in per-request connections (src/runtime/pg-request-scope.ts).
 * db/client.ts only refers to its type.
 */
export const pgDriver = { postgres, drizzle };
export type PgDriver = typeof pgDriver;
