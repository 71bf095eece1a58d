import { z } from '@hono/zod-openapi';
import { readOnly } from '../shared/read-only';

/** The identity wire contract: profile, UserInfo and the published signing keys. */

/** One public signing key (RFC 7517). Ed25519 keys carry `crv` and `x`; the other members are listed for EC/RSA keys. */
export const Jwk = z
  .object({
    kty: z.string().openapi({ example: 'OKP' }),
    kid: z.string(),
    alg: z.string().openapi({ example: 'EdDSA' }),
    use: z.literal('sig'),
    crv: z.string().optional().openapi({ example: 'Ed25519' }),
    x: z.string().optional(),
    y: z.string().optional(),
    n: z.string().optional(),
    e: z.string().optional(),
  })
  .openapi('Jwk');
export const Jwks = z.object({ keys: z.array(Jwk) }).openapi('JWKS');

/** The embedded identity provider's profile of the token owner. */
export const EmbeddedProfile = z
  .object({
    sub: z.string(),
    email: z.string().optional(),
    preferred_username: z.string(),
    groups: z.array(z.string()),
    password_change_required: z.boolean().optional(),
    mfaEnabled: z.boolean(),
  })
  .openapi('EmbeddedProfile');

/**
 * AUTH_MODE=external: the IdP's UserInfo document as the IdP sent it. The standard claims are typed; an IdP
 * adds its own (Keycloak: realm roles, locale …), which are passed through untouched.
 */
export const IdpUserInfo = z
  .object({
    sub: z.string(),
    preferred_username: z.string().optional(),
    email: z.string().optional(),
    email_verified: z.boolean().optional(),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    groups: z.array(z.string()).optional(),
  })
  .catchall(z.unknown())
  .openapi('IdpUserInfo');

export const Profile = z.union([EmbeddedProfile, IdpUserInfo]).openapi('Profile');

export type EmbeddedProfileT = z.infer<typeof EmbeddedProfile>;
export type IdpUserInfoT = z.infer<typeof IdpUserInfo>;

// ---- users and groups of the embedded identity provider ----

export const AuthUser = z
  .object({
    id: z.string(),
    email: z.string(),
    groups: z.array(z.string()),
    mustChangePassword: z.boolean(),
    mfaEnabled: z.boolean(),
    isBootstrap: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('AuthUser');
export type AuthUser = z.infer<typeof AuthUser>;

const groupNames = z.array(z.string().min(1).max(64)).max(50);

export const CreateUserBody = z
  .strictObject({
    email: z.email().max(320).openapi({ example: 'dev@example.com' }),
    password: z.string().min(1).max(1024).openapi({ description: 'Initial password; the user must change it at first login' }),
    groups: groupNames.optional().openapi({ example: ['developer'] }),
  })
  .openapi('CreateUserRequest');
export type CreateUserInput = z.infer<typeof CreateUserBody>;

/** Email and groups change; the rest of what GET answers is accepted back and ignored (`id`, when sent, must be the path's). */
export const UpdateUserBody = z
  .strictObject({
    email: z.email().max(320).optional(),
    groups: groupNames.optional(),
    id: z.string().optional().openapi({ description: 'When sent, must equal the id in the path' }),
    mustChangePassword: readOnly(z.boolean()),
    mfaEnabled: readOnly(z.boolean()),
    isBootstrap: readOnly(z.boolean()),
    createdAt: readOnly(z.string()),
    updatedAt: readOnly(z.string()),
  })
  .openapi('UpdateUserRequest');
export type UpdateUserInput = Pick<z.infer<typeof UpdateUserBody>, 'email' | 'groups'>;

export const AuthGroup = z
  .object({
    id: z.string(),
    name: z.string(),
    isSystem: z.boolean(),
    mfaRequired: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('AuthGroup');
export type AuthGroup = z.infer<typeof AuthGroup>;
export const CreateGroupBody = z
  .strictObject({ name: z.string().min(1).max(64), mfaRequired: z.boolean().optional() })
  .openapi('CreateGroupRequest');
export type CreateGroupInput = z.infer<typeof CreateGroupBody>;
/** A different `name` renames the group (not a system group); the server-owned fields of GET are accepted back and ignored. */
export const UpdateGroupBody = z
  .strictObject({
    name: z.string().min(1).max(64).optional(),
    mfaRequired: z.boolean().optional(),
    id: readOnly(z.string()),
    isSystem: readOnly(z.boolean()),
    createdAt: readOnly(z.string()),
    updatedAt: readOnly(z.string()),
  })
  .openapi('UpdateGroupRequest');
export type UpdateGroupInput = Pick<z.infer<typeof UpdateGroupBody>, 'name' | 'mfaRequired'>;

// ---- the token owner: login, refresh, password, MFA ----

export const LoginBody = z
  .object({
    email: z
      .string()
      .min(1)
      .max(320)
      .openapi({ description: 'Login identifier (need not be an email address)', example: 'admin@example.com' }),
    password: z.string().min(1).max(1024).openapi({ example: 'Change-me-123' }),
    totp: z.string().max(64).optional().openapi({ description: 'TOTP code or an unused recovery code, when MFA is enabled' }),
  })
  .openapi('LoginRequest');
export type LoginInput = z.infer<typeof LoginBody>;

export const TokenPair = z
  .object({
    accessToken: z.string().openapi({ description: 'Bearer token for the API (short-lived)' }),
    refreshToken: z.string().openapi({ description: 'Exchange at /user/refresh for a new pair; single use' }),
  })
  .openapi('TokenPair');
export type TokenPair = z.infer<typeof TokenPair>;

export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(8192) }).openapi('RefreshRequest');

export const ChangePasswordBody = z
  .object({
    currentPassword: z.string().min(1).max(1024).optional(),
    newPassword: z
      .string()
      .min(1)
      .max(1024)
      .openapi({ description: 'At least 12 characters with upper-case, lower-case and a digit; not one of the last 5' }),
    resetToken: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .openapi({ description: 'One-time token from POST /users/{id}/reset-token; with it no bearer token is needed' }),
  })
  .openapi('ChangePasswordRequest');
export type ChangePasswordInput = z.infer<typeof ChangePasswordBody>;

export const StatusMessage = z.object({ status: z.string() }).openapi('StatusMessage');
export const MfaEnrollment = z.object({ secret: z.string(), otpauthUrl: z.string() }).openapi('MfaEnrollment');
export const MfaConfirmRequest = z.object({ code: z.string().min(1).max(16) }).openapi('MfaConfirmRequest');
export const MfaConfirmed = z.object({ status: z.string(), recoveryCodes: z.array(z.string()) }).openapi('MfaConfirmed');
export const MfaDisableRequest = z
  .object({ password: z.string().min(1).max(1024), code: z.string().max(64).optional() })
  .openapi('MfaDisableRequest');
export type MfaDisableInput = z.infer<typeof MfaDisableRequest>;

// ---- OIDC issuer documents and key administration ----

export const Discovery = z
  .object({
    issuer: z.string(),
    jwks_uri: z.string(),
    userinfo_endpoint: z.string(),
    authorization_endpoint: z.string(),
    token_endpoint: z.string(),
    code_challenge_methods_supported: z.array(z.string()),
    grant_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
    subject_types_supported: z.array(z.string()),
    id_token_signing_alg_values_supported: z.array(z.string()),
    scopes_supported: z.array(z.string()),
    claims_supported: z.array(z.string()),
  })
  .openapi('OidcDiscovery');

export const UserInfo = z
  .object({ sub: z.string(), preferred_username: z.string(), email: z.string().optional(), groups: z.array(z.string()) })
  .openapi('UserInfo');

export const RotateResult = z
  .object({
    kid: z.string().openapi({ description: 'Id of the new signing key' }),
    rotatedAt: z.string().openapi({ description: 'ISO-8601 time of the rotation' }),
    restartRequired: z.literal(true).openapi({
      description:
        'Always true, for clients of the upstream Controller. No restart is needed here: every instance sharing the database signs with and publishes the new key within about a second, and accepts the previous one until it is retired',
    }),
  })
  .openapi('JwksRotateResult');

export const IdentityExport = z
  .object({
    exportedAt: z.string(),
    authMode: z.literal('embedded'),
    users: z.array(z.object({ id: z.string(), email: z.string(), groups: z.array(z.string()) })),
    groups: z.array(z.object({ id: z.string(), name: z.string(), isSystem: z.boolean() })),
  })
  .openapi('IdentityExport');
export type IdentityExportT = z.infer<typeof IdentityExport>;

// ---- the browser login (interaction steps) and the token endpoint ----

export const InteractionStep = z
  .object({ step: z.enum(['login', 'mfa', 'enroll', 'confirm-enroll', 'change-password', 'complete']) })
  .openapi('InteractionStep');
export type Step = z.infer<typeof InteractionStep>['step'];
export const InteractionCode = z.object({ code: z.string().min(1).max(32) }).openapi('InteractionCode');
export const InteractionLogin = z
  .object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1024) })
  .openapi('InteractionLogin');
export const InteractionChangePassword = z
  .object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(1).max(1024) })
  .openapi('InteractionChangePassword');
export const OAuthTokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number(),
    refresh_token: z.string(),
    id_token: z.string().optional(),
    scope: z.string().optional(),
  })
  .openapi('OAuthTokenResponse');
