import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Catalog of deployable microservice images. `category: SYSTEM` items (router, NATS, debugger) are built in. */
export const catalogItem = sqliteTable('catalog_item', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  category: text('category').notNull().default(''),
  publisher: text('publisher').notNull().default(''),
  picture: text('picture').notNull().default(''),
  configExample: text('config_example').notNull().default('{}'),
  diskRequired: integer('disk_required').notNull().default(0),
  ramRequired: integer('ram_required').notNull().default(0),
  isPublic: integer('is_public', { mode: 'boolean' }).notNull().default(true),
  registryId: integer('registry_id').notNull().default(1),
  images: text('images').notNull().default('[]'),
  inputType: text('input_type'),
  outputType: text('output_type'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Work that must follow a committed change: written in the same transaction as the
 * change, performed later by the outbox drainer. `idempotencyKey` collapses repeated requests.
 */
export const reconcileOutbox = sqliteTable('reconcile_outbox', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  kind: text('kind').notNull(),
  payload: text('payload').notNull(),
  idempotencyKey: text('idempotency_key').notNull().unique(),
  processedAt: integer('processed_at'),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
