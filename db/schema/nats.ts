import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * NATS decentralised auth: one operator → accounts → users. Seeds and creds live in
 * secrets (encrypted) named as the spec says; these rows carry the public keys and the signed JWTs.
 */
export const natsOperator = sqliteTable('nats_operator', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  publicKey: text('public_key').notNull(),
  jwt: text('jwt').notNull(),
  seedSecretName: text('seed_secret_name').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Account and user rules: the rule body is JSON text of the API fields. */
export const natsRule = sqliteTable(
  'nats_rule',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ['account', 'user'] }).notNull(),
    name: text('name').notNull(),
    spec: text('spec').notNull(),
    isPredefined: integer('is_predefined', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('nats_rule_kind_name_uq').on(t.kind, t.name)],
);

export const natsAccount = sqliteTable('nats_account', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  publicKey: text('public_key').notNull(),
  jwt: text('jwt').notNull(),
  seedSecretName: text('seed_secret_name').notNull(),
  operatorId: integer('operator_id').notNull(),
  isSystem: integer('is_system', { mode: 'boolean' }).notNull().default(false),
  isLeafSystem: integer('is_leaf_system', { mode: 'boolean' }).notNull().default(false),
  /** The application this account belongs to (null for SYS and `controller`). */
  applicationId: integer('application_id'),
  ruleName: text('rule_name').notNull(),
  /** JSON `{userPublicKey: unixSeconds}`, carried over on every re-signing. */
  revocations: text('revocations').notNull().default('{}'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const natsUser = sqliteTable(
  'nats_user',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    publicKey: text('public_key').notNull(),
    jwt: text('jwt').notNull(),
    accountId: integer('account_id')
      .notNull()
      .references(() => natsAccount.id, { onDelete: 'cascade' }),
    microserviceUuid: text('microservice_uuid'),
    isBearer: integer('is_bearer', { mode: 'boolean' }).notNull().default(false),
    ruleName: text('rule_name').notNull(),
    credsSecretName: text('creds_secret_name'),
    expiresAt: integer('expires_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('nats_user_account_name_uq').on(t.accountId, t.name), index('nats_user_ms_idx').on(t.microserviceUuid)],
);
