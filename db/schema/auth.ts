import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Embedded-mode identities. Timestamps are epoch milliseconds everywhere. */
export const authUser = sqliteTable(
  'auth_user',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    mustChangePassword: integer('must_change_password', { mode: 'boolean' }).notNull().default(false),
    isBootstrap: integer('is_bootstrap', { mode: 'boolean' }).notNull().default(false),
    /** Unused since lockouts are counted per account and client address (auth_login_failure); kept for old rows. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lockedUntil: integer('locked_until'),
    /**
     * Carried in every access token (`gen`); bumped on delete, password change and group change so
     * that tokens issued before stop working at once instead of at their expiry.
     */
    tokenGeneration: integer('token_generation').notNull().default(0),
    passwordChangedAt: integer('password_changed_at').notNull(),
    deletedAt: integer('deleted_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  // Soft-deleted users keep their row (audit) but free their login name.
  (t) => [uniqueIndex('auth_user_email_uq').on(t.email).where(sql`deleted_at IS NULL`)],
);

export const authGroup = sqliteTable(
  'auth_group',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    isSystem: integer('is_system', { mode: 'boolean' }).notNull().default(false),
    mfaRequired: integer('mfa_required', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('auth_group_name_uq').on(t.name)],
);

export const authUserGroup = sqliteTable(
  'auth_user_group',
  {
    userId: text('user_id')
      .notNull()
      .references(() => authUser.id, { onDelete: 'cascade' }),
    groupId: text('group_id')
      .notNull()
      .references(() => authGroup.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.groupId] }), index('auth_user_group_group_idx').on(t.groupId)],
);

export const authPasswordHistory = sqliteTable(
  'auth_password_history',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => authUser.id, { onDelete: 'cascade' }),
    passwordHash: text('password_hash').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('auth_password_history_user_idx').on(t.userId, t.createdAt)],
);

/**
 * Failed logins per account and client address. Counting per address means an attacker who fails
 * five times locks out only their own address, not the account's owner (nor the bootstrap admin).
 */
export const authLoginFailure = sqliteTable(
  'auth_login_failure',
  {
    userId: text('user_id')
      .notNull()
      .references(() => authUser.id, { onDelete: 'cascade' }),
    clientIp: text('client_ip').notNull(),
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lockedUntil: integer('locked_until'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.clientIp] }), index('auth_login_failure_updated_idx').on(t.updatedAt)],
);

/** TOTP secret (encrypted at rest); `enabled` flips when the user confirms a first code. */
export const authMfa = sqliteTable('auth_mfa', {
  userId: text('user_id')
    .primaryKey()
    .references(() => authUser.id, { onDelete: 'cascade' }),
  secretEnc: text('secret_enc').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(false),
  lastUsedStep: integer('last_used_step'),
  createdAt: integer('created_at').notNull(),
  confirmedAt: integer('confirmed_at'),
});

export const authRecoveryCode = sqliteTable(
  'auth_recovery_code',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => authUser.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [index('auth_recovery_code_user_idx').on(t.userId)],
);

/** Refresh tokens are stored as sha256(jti); a used token points at its successor. */
export const authRefreshToken = sqliteTable(
  'auth_refresh_token',
  {
    jtiHash: text('jti_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => authUser.id, { onDelete: 'cascade' }),
    familyId: text('family_id').notNull(),
    expiresAt: integer('expires_at').notNull(),
    rotatedAt: integer('rotated_at'),
    revokedAt: integer('revoked_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('auth_refresh_token_family_idx').on(t.familyId),
    index('auth_refresh_token_user_idx').on(t.userId),
    index('auth_refresh_token_expires_idx').on(t.expiresAt),
  ],
);

/** Token signing keys. The private JWK is encrypted at rest; retired keys stay published until `retireUntil`. */
export const authSigningKey = sqliteTable('auth_signing_key', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwkEnc: text('private_jwk_enc').notNull(),
  publicJwk: text('public_jwk').notNull(),
  active: integer('active', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at').notNull(),
  retiredAt: integer('retired_at'),
  publishUntil: integer('publish_until'),
});

/** One-time password reset tokens (`POST /users/:id/reset-token`); only a SHA-256 of the token is kept. */
export const authResetToken = sqliteTable(
  'auth_reset_token',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => authUser.id, { onDelete: 'cascade' }),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('auth_reset_token_user_idx').on(t.userId)],
);

/**
 * Embedded issuer: a browser login in progress (`/oidc/auth` → interaction steps → code). `params`
 * holds the validated authorization request; `userId` is set once the password step passed.
 */
export const authInteraction = sqliteTable('auth_interaction', {
  uid: text('uid').primaryKey(),
  params: text('params').notNull(),
  userId: text('user_id').references(() => authUser.id, { onDelete: 'cascade' }),
  /** login | mfa | enroll | confirm-enroll | change-password | complete */
  step: text('step').notNull(),
  expiresAt: integer('expires_at').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Authorization codes: single use, short-lived; only a SHA-256 of the code is kept. */
export const authCode = sqliteTable('auth_code', {
  codeHash: text('code_hash').primaryKey(),
  userId: text('user_id')
    .notNull()
    .references(() => authUser.id, { onDelete: 'cascade' }),
  clientId: text('client_id').notNull(),
  redirectUri: text('redirect_uri').notNull(),
  codeChallenge: text('code_challenge').notNull(),
  nonce: text('nonce'),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
  createdAt: integer('created_at').notNull(),
});

/** BFF login sessions (`/user/oauth/authorize` → callback): PKCE verifier and nonce, keyed by `state`. */
export const authBffSession = sqliteTable('auth_bff_session', {
  stateHash: text('state_hash').primaryKey(),
  verifier: text('verifier').notNull(),
  nonce: text('nonce').notNull(),
  expiresAt: integer('expires_at').notNull(),
  createdAt: integer('created_at').notNull(),
});
