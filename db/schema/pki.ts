import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Certificates and CAs. Key material lives in the `tls` secret of the same name
 * (`tls.crt`, `tls.key`, `ca.crt`, base64 PEM, encrypted at rest); the row describes it.
 */
export const certificate = sqliteTable('certificate', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  subject: text('subject').notNull(),
  /** Comma-separated DNS names / IPs. */
  hosts: text('hosts').notNull().default(''),
  isCA: integer('is_ca', { mode: 'boolean' }).notNull().default(false),
  validFrom: integer('valid_from').notNull(),
  validTo: integer('valid_to').notNull(),
  serialNumber: text('serial_number').notNull(),
  /** The CA row that signed it (null: self-signed or imported root, or signed by a bare secret). */
  signedById: integer('signed_by_id'),
  /** Requested validity (the API's `expiration`), reused on renewal. */
  expiration: integer('expiration'),
  secretName: text('secret_name').notNull(),
  /** Adopted from an operator's secret (`direct`): deleting the row leaves that secret alone. */
  imported: integer('imported', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
