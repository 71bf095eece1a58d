import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Actor } from '../context';
import { ServiceError } from '../errors';
import type { Logger } from '../lib/logger';

/**
 * External OIDC mode: the Controller is a resource server for an IdP. Access tokens
 * are JWTs checked against the IdP's JWKS — found through its discovery document, cached, and
 * re-fetched when a token names a key the cache does not know (jose's remote key set) — with `iss`
 * equal to the issuer and `aud` containing the client id. Claims map to RBAC subjects in `actor` below.
 *
 * An unreachable IdP is the Controller's problem, not the caller's: it answers 503 (retryable),
 * never 401.
 */

export interface Discovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  revocation_endpoint?: string;
}

const DISCOVERY_TTL_MS = 10 * 60_000;
const FETCH_TIMEOUT_MS = 5000;
/**
 * A token naming a key the cache does not know makes the key set reload — at most once per this
 * interval, so a stream of tokens with made-up key ids cannot turn into a stream of requests to the IdP.
 */
export const JWKS_COOLDOWN_MS = 5000;

export class ExternalIdp {
  #discovery: { doc: Discovery; at: number } | undefined;
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  #jwksUri: string | undefined;

  constructor(
    readonly issuer: string,
    readonly clientId: string,
    readonly clientSecret: string | undefined,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  unavailable(what: string, err?: unknown): ServiceError {
    this.logger.warn('external IdP unavailable', { issuer: this.issuer, what, err: err === undefined ? undefined : String(err) });
    return new ServiceError('CONTROLLER_AUTH_VERIFICATION_FAILED', `The identity provider could not be reached (${what}); retry shortly`, {
      retryAfterSec: 5,
    });
  }

  /** The IdP's discovery document, cached for 10 minutes. */
  async discovery(): Promise<Discovery> {
    const cached = this.#discovery;
    if (cached && this.now() - cached.at < DISCOVERY_TTL_MS) return cached.doc;
    let doc: Discovery;
    try {
      const res = await fetch(`${this.issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        headers: { accept: 'application/json' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as Discovery;
    } catch (err) {
      if (cached) return cached.doc; // keep serving with the last good document
      throw this.unavailable('discovery', err);
    }
    if (doc.issuer?.replace(/\/+$/, '') !== this.issuer || typeof doc.jwks_uri !== 'string') {
      throw this.unavailable(`discovery document names issuer ${doc.issuer ?? '(none)'}, expected ${this.issuer}`);
    }
    this.#discovery = { doc, at: this.now() };
    return doc;
  }

  async #keys() {
    const d = await this.discovery();
    if (!this.#jwks || this.#jwksUri !== d.jwks_uri) {
      this.#jwksUri = d.jwks_uri;
      this.#jwks = createRemoteJWKSet(new URL(d.jwks_uri), {
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: FETCH_TIMEOUT_MS,
      });
    }
    return this.#jwks;
  }

  async verify(token: string): Promise<JWTPayload> {
    const keys = await this.#keys();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: [this.issuer, `${this.issuer}/`],
        audience: this.clientId,
        clockTolerance: 30,
        currentDate: new Date(this.now()),
      });
      return payload;
    } catch (err) {
      if (
        err instanceof joseErrors.JWKSTimeout ||
        (err instanceof Error && /fetch|network|ECONNREFUSED/i.test(err.message) && !(err instanceof joseErrors.JOSEError))
      ) {
        throw this.unavailable('JWKS', err);
      }
      if (err instanceof joseErrors.JWKSInvalid) throw this.unavailable('JWKS', err);
      const expired = err instanceof joseErrors.JWTExpired;
      throw new ServiceError(
        'AUTH_TOKEN_INVALID',
        expired ? 'Access token has expired' : 'Access token is invalid for this Controller (issuer, audience, signature or key)',
      );
    }
  }

  /** RBAC subjects from the token's claims. */
  static actor(payload: JWTPayload, clientId: string): Actor & { mfaEnrollmentRequired: boolean } {
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const access = (payload.resource_access as Record<string, { roles?: unknown }> | undefined)?.[clientId];
    const groups = [
      ...new Set(
        [...strings(access?.roles), ...strings(payload.roles), ...strings(payload.groups)].map((g) => g.toLowerCase().replace(/^\//, '')),
      ),
    ];
    const first = [payload.preferred_username, payload.username, payload.email, payload.sub].find((v) => typeof v === 'string' && v !== '');
    return {
      kind: 'user',
      userId: String(payload.sub ?? first),
      username: String(first),
      groups,
      passwordChangeRequired: false,
      mfaEnrollmentRequired: false,
    };
  }

  async authenticate(token: string) {
    return ExternalIdp.actor(await this.verify(token), this.clientId);
  }

  /** Token endpoint call (password or refresh grant) for the CLI login routes. */
  async tokenGrant(params: Record<string, string>): Promise<{ accessToken: string; refreshToken: string; idToken?: string }> {
    const d = await this.discovery();
    if (!d.token_endpoint)
      throw new ServiceError('NOT_IMPLEMENTED', 'The identity provider has no token endpoint; log in through the browser flow');
    const body = new URLSearchParams({
      ...params,
      client_id: this.clientId,
      ...(this.clientSecret ? { client_secret: this.clientSecret } : {}),
    });
    let res: Response;
    try {
      res = await fetch(d.token_endpoint, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (err) {
      throw this.unavailable('token endpoint', err);
    }
    const json = (await res.json().catch(() => ({}))) as {
      access_token?: string;
      refresh_token?: string;
      id_token?: string;
      error?: string;
      error_description?: string;
    };
    if (res.ok && json.access_token)
      return {
        accessToken: json.access_token,
        refreshToken: json.refresh_token ?? '',
        ...(json.id_token ? { idToken: json.id_token } : {}),
      };
    if (json.error === 'unsupported_grant_type' || json.error === 'unauthorized_client') {
      throw new ServiceError(
        'NOT_IMPLEMENTED',
        `The identity provider does not allow this login (${json.error}); log in through the browser flow`,
      );
    }
    if (res.status >= 500) throw this.unavailable(`token endpoint answered ${res.status}`);
    throw new ServiceError(
      params.grant_type === 'refresh_token' ? 'REFRESH_TOKEN_INVALID' : 'INVALID_CREDENTIALS',
      'The identity provider refused the credentials',
    );
  }

  /** The IdP's UserInfo document for the token (profile in external mode). */
  async userinfo(token: string, fallback: JWTPayload): Promise<Record<string, unknown>> {
    const d = await this.discovery();
    if (!d.userinfo_endpoint) return { ...fallback };
    try {
      const res = await fetch(d.userinfo_endpoint, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (res.ok) return (await res.json()) as Record<string, unknown>;
      if (res.status === 401) throw new ServiceError('AUTH_TOKEN_INVALID', 'The identity provider rejected the token');
      throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      if (err instanceof ServiceError) throw err;
      throw this.unavailable('userinfo', err);
    }
  }
}
