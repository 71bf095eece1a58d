import { integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { application } from './apps';

/**
 * RBAC objects. System roles are code (src/auth/rbac.ts), never rows. Rules,
 * role references and subjects are JSON text, read and written whole. Every write bumps the policy
 * version in `controller_setting` (key `rbac.version`) so every instance reloads its policy cache.
 */
export const rbacRole = sqliteTable('rbac_role', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  rules: text('rules').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const rbacRoleBinding = sqliteTable('rbac_role_binding', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  roleRef: text('role_ref').notNull(),
  subjects: text('subjects').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Application-scoped service accounts. */
export const serviceAccount = sqliteTable(
  'service_account',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    applicationId: integer('application_id')
      .notNull()
      .references(() => application.id, { onDelete: 'cascade' }),
    roleRef: text('role_ref').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('service_account_app_name_idx').on(t.applicationId, t.name)],
);
