import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';

/**
 * The PostgreSQL driver (postgres.js) and drizzle's binding for it. Entry points that can open TCP
 * connections with it (Node, Deno, Bun) import this module and hand it to bootstrap; db/client.ts only
 * refers to its type, so bundles that do not import it (Workers) stay free of the driver.
 */
export const pgDriver = { postgres, drizzle };
export type PgDriver = typeof pgDriver;
