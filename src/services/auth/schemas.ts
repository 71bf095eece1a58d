import { z } from '@hono/zod-openapi';

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
