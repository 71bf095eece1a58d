import { and, eq, isNull, lt } from 'drizzle-orm';
import { authBffSession, authCode, authInteraction, authRefreshToken, authUser } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { Actor, AppCtx } from '../../context';
import { ServiceError, invalid } from '../../errors';
import { sha256Hex } from '../../lib/ids';
import { checkPassword, checkSecondFactor, consumeSecondFactor, mfaEnabledFor } from './login';
import { changePassword, confirmMfa, enrollMfa } from './self';
import { prepareTokenPair, type TokenPair } from './tokens';
import { findActiveUserById, groupsOf, type UserRow } from './users-repo';

/**
 * The embedded issuer's browser login, the subset the Controller needs:
 *
 * - One client: `OIDC_CLIENT_ID`, whose only redirect URI is `{CONTROLLER_PUBLIC_URL}/api/v3/user/oauth/callback`
 *   (exact match). Authorization code + PKCE S256 only (PKCE is mandatory); `OIDC_CLIENT_SECRET`, when
 *   set, is also required at the token endpoint.
 * - `/oidc/auth` validates the request and opens an *interaction* (10 min) that the console's login
 *   page drives: login → (mfa | enroll → confirm-enroll) → (change-password) → complete.
 * - `complete` issues a single-use code (60 s) bound to the client, redirect URI, PKCE challenge and
 *   nonce; the token endpoint checks all of them and issues the usual access/refresh pair + an ID token.
 * - The BFF (`/user/oauth/authorize` → `/user/oauth/callback`) keeps state/nonce/verifier server side
 *   (10 min, single use) and hands the tokens to `CONSOLE_URL/login#…` (fragment, never the query).
 */

export const INTERACTION_TTL_MS = 10 * 60_000;
export const CODE_TTL_MS = 60_000;
export const BFF_TTL_MS = 10 * 60_000;

export type { Step } from './schemas';
import type { Step } from './schemas';

export interface AuthorizeParams {
  client_id: string;
  redirect_uri: string;
  response_type: string;
  scope: string;
  state?: string;
  nonce?: string;
  code_challenge: string;
  code_challenge_method: string;
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
export const randomToken = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));
export async function s256(verifier: string): Promise<string> {
  return b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

export const callbackUrl = (ctx: AppCtx) => `${ctx.config.publicUrl}/api/v3/user/oauth/callback`;
export const consoleUrl = (ctx: AppCtx) => (ctx.config.consoleUrl ?? ctx.config.publicUrl).replace(/\/+$/, '');

/**
 * A browser sign-in started from a page whose origin will not receive its tokens: they go to
 * `CONSOLE_URL/login`, so a console served elsewhere (the EdgeOps console on its own port, with
 * CONSOLE_URL left at its default, the Controller itself) would wait forever while the tokens land on
 * the Controller's page. `referer` is the Referer header of `/user/oauth/authorize`; without one (a typed
 * URL, a script) nothing can be told and the sign-in goes ahead. Returns the two origins when they differ.
 */
export function consoleOriginMismatch(
  ctx: AppCtx,
  referer: string | undefined,
  requestUrl: string,
): { startedFrom: string; consoleUrl: string } | undefined {
  if (!referer) return undefined;
  let from: string;
  try {
    from = new URL(referer).origin;
  } catch {
    return undefined;
  }
  if (from === 'null') return undefined;
  const target = consoleUrl(ctx);
  const accepted = [target, ctx.config.publicUrl, requestUrl].map((u) => {
    try {
      return new URL(u).origin;
    } catch {
      return undefined;
    }
  });
  return accepted.includes(from) ? undefined : { startedFrom: from, consoleUrl: target };
}

// ---- clients ----

export interface OidcClient {
  id: string;
  redirectUris: string[];
  /** Confidential clients authenticate at the token endpoint; public ones rely on PKCE alone. */
  secret?: string;
}

/** The Controller's own client (BFF; confidential when OIDC_CLIENT_SECRET is set) and the optional public console client. */
export function oidcClients(ctx: AppCtx): OidcClient[] {
  const own: OidcClient = {
    id: ctx.config.clientId,
    redirectUris: [callbackUrl(ctx), ...ctx.config.extraRedirectUris],
    secret: ctx.config.clientSecret,
  };
  return ctx.config.consoleClient ? [own, { id: ctx.config.consoleClient.id, redirectUris: ctx.config.consoleClient.redirectUris }] : [own];
}

export const findClient = (ctx: AppCtx, id: string | undefined) => oidcClients(ctx).find((c) => c.id === id);

// ---- authorization endpoint ----

/**
 * Validates an authorization request. Errors that cannot be sent back to the client (unknown client,
 * redirect URI not registered) are a 400 here; the rest are OAuth errors for the redirect URI.
 */
export function checkAuthorize(
  ctx: AppCtx,
  q: Partial<AuthorizeParams>,
): { params: AuthorizeParams } | { redirectError: string; description: string; redirectUri: string; state?: string } {
  const client = findClient(ctx, q.client_id);
  if (!client) throw invalid(`client_id: unknown client ${q.client_id ?? '(none)'}`);
  if (q.redirect_uri === undefined || !client.redirectUris.includes(q.redirect_uri)) {
    throw invalid('redirect_uri: not registered for this client (it must match exactly)');
  }
  const back = (error: string, description: string) => ({
    redirectError: error,
    description,
    redirectUri: q.redirect_uri!,
    state: q.state,
  });
  if (q.response_type !== 'code') return back('unsupported_response_type', 'only response_type=code is supported');
  if (!q.code_challenge || q.code_challenge_method !== 'S256')
    return back('invalid_request', 'PKCE with code_challenge_method=S256 is required');
  if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) return back('invalid_request', 'code_challenge must be a base64url SHA-256');
  const scope = q.scope ?? 'openid';
  if (!scope.split(' ').includes('openid')) return back('invalid_scope', 'scope must include openid');
  return {
    params: {
      client_id: client.id,
      redirect_uri: q.redirect_uri,
      response_type: 'code',
      scope,
      state: q.state,
      nonce: q.nonce,
      code_challenge: q.code_challenge,
      code_challenge_method: 'S256',
    },
  };
}

export async function openInteraction(ctx: AppCtx, params: AuthorizeParams): Promise<string> {
  const uid = randomToken(24);
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db.delete(authInteraction).where(lt(authInteraction.expiresAt, now));
    await tx.db
      .insert(authInteraction)
      .values({ uid, params: JSON.stringify(params), step: 'login', expiresAt: now + INTERACTION_TTL_MS, createdAt: now });
  });
  return uid;
}

// ---- interaction steps ----

type InteractionRow = typeof authInteraction.$inferSelect;
const interactionGone = () => new ServiceError('AUTH_TOKEN_INVALID', 'This login has expired or is unknown; start again');

async function requireInteraction(ctx: AppCtx, uid: string): Promise<InteractionRow> {
  const [row] = await ctx.db.select().from(authInteraction).where(eq(authInteraction.uid, uid)).limit(1);
  if (!row || row.expiresAt <= ctx.clock.now()) throw interactionGone();
  return row;
}

function expectStep(row: InteractionRow, ...steps: Step[]): void {
  if (!steps.includes(row.step as Step))
    throw invalid(`step: this login is at step "${row.step}", not ${steps.map((s) => `"${s}"`).join(' or ')}`);
}

async function setStep(ctx: AppCtx, uid: string, step: Step, userId?: string): Promise<{ step: Step }> {
  await withTransaction(ctx, async (tx) => {
    await tx.db
      .update(authInteraction)
      .set({ step, ...(userId ? { userId } : {}) })
      .where(eq(authInteraction.uid, uid));
  });
  return { step };
}

async function userOf(ctx: AppCtx, row: InteractionRow): Promise<UserRow> {
  const user = row.userId ? await findActiveUserById(ctx.db, row.userId) : undefined;
  if (!user) throw interactionGone();
  return user;
}

const actorFor = (user: UserRow): Actor => ({
  kind: 'user',
  userId: user.id,
  username: user.email,
  groups: [],
  passwordChangeRequired: false,
  mfaEnrollmentRequired: false,
});

/** What follows a passed password (and second factor): enrollment, forced password change, or done. */
async function nextAfterAuth(ctx: AppCtx, user: UserRow, mfaDone: boolean): Promise<Step> {
  if (!mfaDone && (await mfaEnabledFor(ctx, user))) return 'mfa';
  const groups = (await groupsOf(ctx.db, [user.id])).get(user.id) ?? [];
  if (!user.isBootstrap && !(await mfaEnabledFor(ctx, user)) && groups.some((g) => g.mfaRequired)) return 'enroll';
  const [fresh] = await ctx.db.select({ must: authUser.mustChangePassword }).from(authUser).where(eq(authUser.id, user.id)).limit(1);
  if (fresh?.must) return 'change-password';
  return 'complete';
}

export async function interactionStep(ctx: AppCtx, uid: string): Promise<{ step: Step }> {
  return { step: (await requireInteraction(ctx, uid)).step as Step };
}

export async function interactionLogin(ctx: AppCtx, uid: string, email: string, password: string) {
  const row = await requireInteraction(ctx, uid);
  expectStep(row, 'login');
  const user = await checkPassword(ctx, email, password);
  const next = await nextAfterAuth(ctx, user, false);
  if (next !== 'mfa') await withTransaction(ctx, (tx) => consumeSecondFactor(tx, user, {}));
  return setStep(ctx, uid, next, user.id);
}

export async function interactionMfa(ctx: AppCtx, uid: string, code: string) {
  const row = await requireInteraction(ctx, uid);
  expectStep(row, 'mfa');
  const user = await userOf(ctx, row);
  const factor = await checkSecondFactor(ctx, user, code);
  await withTransaction(ctx, (tx) => consumeSecondFactor(tx, user, factor));
  return setStep(ctx, uid, await nextAfterAuth(ctx, user, true), user.id);
}

export async function interactionEnroll(ctx: AppCtx, uid: string) {
  const row = await requireInteraction(ctx, uid);
  expectStep(row, 'enroll', 'confirm-enroll');
  const user = await userOf(ctx, row);
  const enrolled = await enrollMfa(ctx, actorFor(user));
  await setStep(ctx, uid, 'confirm-enroll');
  return { step: 'confirm-enroll' as const, ...enrolled };
}

export async function interactionConfirmEnroll(ctx: AppCtx, uid: string, code: string) {
  const row = await requireInteraction(ctx, uid);
  expectStep(row, 'confirm-enroll');
  const user = await userOf(ctx, row);
  const { recoveryCodes } = await confirmMfa(ctx, actorFor(user), code);
  const { step } = await setStep(ctx, uid, await nextAfterAuth(ctx, user, true));
  return { step, recoveryCodes };
}

export async function interactionChangePassword(ctx: AppCtx, uid: string, currentPassword: string, newPassword: string) {
  const row = await requireInteraction(ctx, uid);
  expectStep(row, 'change-password');
  const user = await userOf(ctx, row);
  await changePassword(ctx, actorFor(user), { currentPassword, newPassword });
  return setStep(ctx, uid, 'complete');
}

/** Ends the interaction with a single-use code for the client's redirect URI. */
export async function interactionComplete(ctx: AppCtx, uid: string): Promise<{ step: 'complete'; redirectTo: string }> {
  const row = await requireInteraction(ctx, uid);
  expectStep(row, 'complete');
  const params = JSON.parse(row.params) as AuthorizeParams;
  const code = randomToken(32);
  const codeHash = await sha256Hex(code);
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const gone = await tx.db.delete(authInteraction).where(and(eq(authInteraction.uid, uid), eq(authInteraction.step, 'complete')));
    if (gone.rowsAffected !== 1) throw interactionGone();
    await tx.db.insert(authCode).values({
      codeHash,
      userId: row.userId!,
      clientId: params.client_id,
      redirectUri: params.redirect_uri,
      codeChallenge: params.code_challenge,
      nonce: params.nonce ?? null,
      expiresAt: now + CODE_TTL_MS,
      createdAt: now,
    });
  });
  const url = new URL(params.redirect_uri);
  url.searchParams.set('code', code);
  if (params.state !== undefined) url.searchParams.set('state', params.state);
  url.searchParams.set('iss', ctx.config.issuer);
  return { step: 'complete', redirectTo: url.toString() };
}

// ---- token endpoint ----

export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

export interface CodeExchange {
  code: string;
  redirect_uri: string;
  code_verifier: string;
  client_id: string;
}

/** authorization_code grant: code single use and unexpired; client, redirect URI and PKCE verifier must match. */
export async function exchangeCode(ctx: AppCtx, x: CodeExchange): Promise<TokenPair & { idToken: string }> {
  const codeHash = await sha256Hex(x.code);
  const [row] = await ctx.db.select().from(authCode).where(eq(authCode.codeHash, codeHash)).limit(1);
  const now = ctx.clock.now();
  if (!row || row.usedAt !== null || row.expiresAt <= now)
    throw new OAuthError('invalid_grant', 'The code is invalid, expired or already used');
  if (row.clientId !== x.client_id || row.redirectUri !== x.redirect_uri)
    throw new OAuthError('invalid_grant', 'The code was issued to another client or redirect URI');
  if (!x.code_verifier || (await s256(x.code_verifier)) !== row.codeChallenge)
    throw new OAuthError('invalid_grant', 'PKCE verification failed');
  const user = await findActiveUserById(ctx.db, row.userId);
  if (!user) throw new OAuthError('invalid_grant', 'The user no longer exists');
  const groups = ((await groupsOf(ctx.db, [user.id])).get(user.id) ?? []).map((g) => g.name);
  const { pair, row: refresh } = await prepareTokenPair(ctx, user, groups);
  const nowSec = Math.floor(now / 1000);
  const idToken = await ctx.keys.sign(
    {
      ...(row.nonce ? { nonce: row.nonce } : {}),
      preferred_username: user.email,
      ...(user.email.includes('@') ? { email: user.email } : {}),
      groups,
    },
    {
      subject: user.id,
      issuer: ctx.config.issuer,
      audience: x.client_id,
      nowSec,
      ttlSec: ctx.config.accessTokenTtlSec,
      jti: ctx.ids.uuid(),
      typ: 'JWT',
    },
  );
  await withTransaction(ctx, async (tx) => {
    const used = await tx.db
      .update(authCode)
      .set({ usedAt: now })
      .where(and(eq(authCode.codeHash, codeHash), isNull(authCode.usedAt)));
    if (used.rowsAffected !== 1) throw new OAuthError('invalid_grant', 'The code is invalid, expired or already used');
    await tx.db.insert(authRefreshToken).values(refresh);
  });
  return { ...pair, idToken };
}

// ---- BFF ----

/** Starts a browser login: the issuer URL to redirect to (state/nonce/verifier kept server side). */
export async function bffStart(ctx: AppCtx): Promise<string> {
  const state = randomToken(24);
  const nonce = randomToken(24);
  const verifier = randomToken(48);
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    await tx.db.delete(authBffSession).where(lt(authBffSession.expiresAt, now));
    await tx.db
      .insert(authBffSession)
      .values({ stateHash: await sha256Hex(state), verifier, nonce, expiresAt: now + BFF_TTL_MS, createdAt: now });
  });
  // External mode: the IdP's authorization endpoint (no prompt; offline_access asked so the console gets a refresh token).
  const endpoint = ctx.idp ? (await ctx.idp.discovery()).authorization_endpoint : `${ctx.config.issuer}/auth`;
  if (!endpoint) throw new ServiceError('NOT_IMPLEMENTED', 'The identity provider has no authorization endpoint');
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: ctx.config.clientId,
    redirect_uri: callbackUrl(ctx),
    response_type: 'code',
    scope: ctx.idp ? 'openid profile email groups offline_access' : 'openid profile email groups',
    state,
    nonce,
    code_challenge: await s256(verifier),
    code_challenge_method: 'S256',
    ...(ctx.idp ? {} : { prompt: 'login' }),
  }).toString();
  return url.toString();
}

/** The callback: state must match an open session (single use); the code is exchanged and the ID token's nonce checked. */
export async function bffCallback(ctx: AppCtx, code: string, state: string): Promise<TokenPair> {
  const stateHash = await sha256Hex(state);
  const session = await withTransaction(ctx, async (tx) => {
    const [row] = await tx.db.select().from(authBffSession).where(eq(authBffSession.stateHash, stateHash)).limit(1);
    if (!row) return undefined;
    await tx.db.delete(authBffSession).where(eq(authBffSession.stateHash, stateHash));
    return row;
  });
  if (!session || session.expiresAt <= ctx.clock.now())
    throw new OAuthError('invalid_state', 'Unknown or expired login session; start again', 401);
  if (ctx.idp) {
    const t = await ctx.idp.tokenGrant({
      grant_type: 'authorization_code',
      code,
      redirect_uri: callbackUrl(ctx),
      code_verifier: session.verifier,
    });
    if (!t.idToken) throw new OAuthError('invalid_grant', 'The identity provider returned no ID token', 401);
    const claims = await ctx.idp.verify(t.idToken).catch(() => undefined);
    if (!claims || claims.nonce !== session.nonce) throw new OAuthError('invalid_nonce', 'The ID token does not answer this login', 401);
    return { accessToken: t.accessToken, refreshToken: t.refreshToken };
  }
  const tokens = await exchangeCode(ctx, {
    code,
    redirect_uri: callbackUrl(ctx),
    code_verifier: session.verifier,
    client_id: ctx.config.clientId,
  });
  await ctx.keys.refresh(ctx);
  const { payload } = await ctx.keys.verify(tokens.idToken, {
    issuer: ctx.config.issuer,
    audience: ctx.config.clientId,
    nowSec: Math.floor(ctx.clock.now() / 1000),
    reload: () => ctx.keys.load(ctx.store.db, ctx.vault, ctx.clock.now()),
  });
  if (payload.nonce !== session.nonce) throw new OAuthError('invalid_nonce', 'The ID token does not answer this login', 401);
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
}
