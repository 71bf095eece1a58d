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
  .object({ id: z.string(), name: z.string(), isSystem: z.boolean(), mfaRequired: z.boolean(), createdAt: z.string(), updatedAt: z.string() })
  .openapi('AuthGroup');
export type AuthGroup = z.infer<typeof AuthGroup>;
export const CreateGroupBody = z.strictObject({ name: z.string().min(1).max(64), mfaRequired: z.boolean().optional() }).openapi('CreateGroupRequest');
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
