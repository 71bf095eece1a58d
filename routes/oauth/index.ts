import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { defineRoute, embeddedOnly, publicAccess, type Access } from '../../src/http/route';
import type { App, HonoEnv } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { ServiceError } from '../../src/errors';
import {
  bffCallback,
  bffStart,
  checkAuthorize,
  consoleOriginMismatch,
  consoleUrl,
  exchangeCode,
  findClient,
  interactionChangePassword,
  interactionComplete,
  interactionConfirmEnroll,
  interactionEnroll,
  interactionLogin,
  interactionMfa,
  interactionStep,
  OAuthError,
  openInteraction,
} from '../../src/services/auth/oidc-flow';
import { refreshSession } from '../../src/services/auth/tokens';
import {
  InteractionChangePassword,
  InteractionCode,
  InteractionLogin,
  InteractionStep as StepSchema,
  OAuthTokenResponse as TokenResponse,
} from '../../src/services/auth/schemas';

const authFlow: Access = embeddedOnly({ kind: 'auth-flow', rateLimited: true });
/** The BFF works in both modes: with the embedded issuer or the external IdP. */
const bffFlow: Access = { kind: 'auth-flow', rateLimited: true };
const redirect = (description: string) => ({ 302: { description } });

// ---- issuer: authorization and token endpoints ----

const AuthorizeQuery = z.object({
  client_id: z.string().max(255).optional(),
  redirect_uri: z.string().max(2048).optional(),
  response_type: z.string().max(64).optional(),
  scope: z.string().max(1024).optional(),
  state: z.string().max(1024).optional(),
  nonce: z.string().max(1024).optional(),
  code_challenge: z.string().max(256).optional(),
  code_challenge_method: z.string().max(16).optional(),
  prompt: z.string().max(64).optional(),
});

export const authorizeRoute = defineRoute(authFlow, {
  method: 'get',
  path: '/oidc/auth',
  tags: ['OIDC'],
  summary: 'Authorization endpoint (code + PKCE S256)',
  description:
    'Opens a login interaction and redirects to `{CONSOLE_URL}/login/oauth?interaction=…`. An unknown client or a redirect URI that is not registered is a 400; other errors go back to the redirect URI as `error=`.',
  request: { query: AuthorizeQuery },
  responses: redirect('To the login page, or back to the client with an error'),
});

const TokenForm = z.object({
  grant_type: z.string().min(1).max(128).openapi({ description: 'authorization_code or refresh_token; others → unsupported_grant_type' }),
  code: z.string().max(256).optional(),
  redirect_uri: z.string().max(2048).optional(),
  code_verifier: z.string().min(43).max(128).optional(),
  client_id: z.string().max(255).optional(),
  client_secret: z.string().max(1024).optional(),
  refresh_token: z.string().max(4096).optional(),
});

export const tokenRoute = defineRoute(authFlow, {
  method: 'post',
  path: '/oidc/token',
  tags: ['OIDC'],
  summary: 'Token endpoint',
  description:
    '`authorization_code` (PKCE verifier required; client secret too when OIDC_CLIENT_SECRET is set, as Basic auth or `client_secret`) and `refresh_token` (rotating). Errors carry OAuth `error`/`error_description` next to the usual fields.',
  request: { body: { content: { 'application/x-www-form-urlencoded': { schema: TokenForm } }, required: true } },
  responses: { 200: jsonOk('Tokens', TokenResponse) },
});

function oauthErrorBody(c: Context<HonoEnv>, err: OAuthError) {
  return c.json(
    {
      error: err.error,
      error_description: err.description,
      name: 'OAuthError',
      message: err.description,
      code: err.status === 401 ? 'AUTH_TOKEN_INVALID' : 'VALIDATION_FAILED',
      requestId: c.get('ctx').requestId,
    },
    err.status as 400,
    { 'Cache-Control': 'no-store' },
  );
}

/** The client of a token request: a confidential client must present its secret (Basic or form); a public one none. */
function clientAuthenticated(c: Context<HonoEnv>, form: z.infer<typeof TokenForm>): string | undefined {
  const ctx = c.get('ctx');
  const basic = /^Basic\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
  let id = form.client_id;
  let secret = form.client_secret;
  if (basic) {
    const [u, p] = atob(basic[1]!).split(':');
    id = decodeURIComponent(u ?? '');
    secret = decodeURIComponent(p ?? '');
  }
  const client = findClient(ctx, id);
  if (!client) return undefined;
  if (client.secret !== undefined ? secret !== client.secret : secret !== undefined && secret !== '') return undefined;
  return client.id;
}

// ---- BFF ----

export const bffAuthorizeRoute = defineRoute(bffFlow, {
  method: 'get',
  path: '/api/v3/user/oauth/authorize',
  tags: ['User'],
  summary: 'Start a browser login',
  description:
    'Redirects to the issuer with PKCE S256, state and nonce kept server side (10 min). The browser ends on `{CONSOLE_URL}/login#accessToken=…&refreshToken=…`. Started from a page (Referer) on another origin than `CONSOLE_URL` and the Controller, it stops at once with an HTML page saying which `CONSOLE_URL` to set: that console would never receive the tokens.',
  responses: {
    ...redirect('To the issuer'),
    400: {
      description: 'HTML: the sign-in was started from a console that CONSOLE_URL does not name',
      content: { 'text/html': { schema: z.string() } },
    },
  },
});
export const bffCallbackRoute = defineRoute(bffFlow, {
  method: 'get',
  path: '/api/v3/user/oauth/callback',
  tags: ['User'],
  summary: 'Browser login callback',
  description:
    'Checks state and nonce, exchanges the code and redirects to `{CONSOLE_URL}/login#accessToken=…&refreshToken=…` (fragment, never the query); on any error to `{CONSOLE_URL}/login?oauthError=…`.',
  request: {
    query: z.object({
      code: z.string().max(256).optional(),
      state: z.string().max(1024).optional(),
      error: z.string().max(128).optional(),
      iss: z.string().max(2048).optional(),
    }),
  },
  responses: redirect('To the console'),
});

// ---- interaction API (driven by the login page) ----

const Uid = z.object({
  uid: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'uid', in: 'path' } }),
});
const stepRoute = (method: 'get' | 'post', sub: string, summary: string, extra?: z.ZodRawShape) =>
  defineRoute(authFlow, {
    method,
    path: `/api/v3/user/interaction/{uid}${sub}`,
    tags: ['User'],
    summary,
    request: { params: Uid },
    responses: { 200: jsonOk('Next step', extra ? StepSchema.extend(extra) : StepSchema) },
  });
const stepWithBody = <B extends z.ZodTypeAny>(sub: string, summary: string, body: B, extra?: z.ZodRawShape) =>
  defineRoute(authFlow, {
    method: 'post',
    path: `/api/v3/user/interaction/{uid}${sub}`,
    tags: ['User'],
    summary,
    request: { params: Uid, body: jsonBody(body) },
    responses: { 200: jsonOk('Next step', extra ? StepSchema.extend(extra) : StepSchema) },
  });
export const interactionGetRoute = stepRoute('get', '', 'Current step of a browser login');
export const interactionLoginRoute = stepWithBody('/login', 'Submit the password', InteractionLogin);
export const interactionMfaRoute = stepWithBody('/mfa', 'Submit a TOTP (or recovery) code', InteractionCode);
export const interactionEnrollRoute = stepRoute('post', '/enroll', 'Start the first MFA enrollment', {
  secret: z.string(),
  otpauthUrl: z.string(),
});
export const interactionConfirmRoute = stepWithBody('/confirm-enroll', 'Confirm the enrollment', InteractionCode, {
  recoveryCodes: z.array(z.string()),
});
export const interactionPasswordRoute = stepWithBody('/change-password', 'Forced password change', InteractionChangePassword);
export const interactionCompleteRoute = stepRoute('post', '/complete', 'Finish the login', { redirectTo: z.string() });

// ---- the login pages (served by the Controller; CONSOLE_URL defaults to it) ----

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const html = (title: string, script: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="icon" type="image/png" href="/api/v3/docs/favicon.png"><link rel="stylesheet" href="/login/login.css"></head>
<body><main><h1>${title}</h1><p id="message" role="status"></p><form id="form" hidden></form><pre id="codes" hidden></pre></main>
<script src="${script}"></script></body></html>`;

const CSS = `body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0}main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}
#message{color:#444}#message.error{color:#b00020}pre{background:#eee;padding:.5rem;white-space:pre-wrap}`;

/** Drives /user/interaction/{uid}: one small form per step, then follows `redirectTo`. */
const LOGIN_JS = `(function () {
  var uid = new URLSearchParams(location.search).get('interaction');
  var form = document.getElementById('form'), msg = document.getElementById('message'), codes = document.getElementById('codes');
  var base = '/api/v3/user/interaction/' + encodeURIComponent(uid || '');
  function say(text, error) { msg.textContent = text; msg.className = error ? 'error' : ''; }
  function call(method, path, body) {
    return fetch(base + path, { method: method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.message || ('HTTP ' + r.status)); return j; }); });
  }
  function fields(list, submit, onSubmit) {
    form.innerHTML = '';
    list.forEach(function (f) {
      var l = document.createElement('label'); l.textContent = f[1]; l.htmlFor = f[0];
      var i = document.createElement('input'); i.id = f[0]; i.name = f[0]; i.type = f[2] || 'text'; i.autocomplete = f[3] || 'off';
      form.appendChild(l); form.appendChild(i);
    });
    var b = document.createElement('button'); b.type = 'submit'; b.textContent = submit; form.appendChild(b);
    form.hidden = false;
    form.onsubmit = function (e) { e.preventDefault(); var v = {}; list.forEach(function (f) { v[f[0]] = document.getElementById(f[0]).value; }); onSubmit(v).then(show, function (err) { say(err.message, true); }); };
    var first = form.querySelector('input'); if (first) first.focus();
  }
  function show(state) {
    switch (state.step) {
      case 'login': say('Sign in'); return fields([['email', 'Email or user name', 'text', 'username'], ['password', 'Password', 'password', 'current-password']], 'Sign in', function (v) { return call('POST', '/login', v); });
      case 'mfa': say('Enter the code from your authenticator app (or a recovery code)'); return fields([['code', 'Code', 'text', 'one-time-code']], 'Verify', function (v) { return call('POST', '/mfa', v); });
      case 'enroll': say('Your group requires two-factor authentication'); return fields([], 'Set up an authenticator', function () { return call('POST', '/enroll'); });
      case 'confirm-enroll':
        if (state.otpauthUrl) { codes.hidden = false; codes.textContent = 'Add this key to your authenticator app:\\n' + state.secret + '\\n' + state.otpauthUrl; }
        say('Enter the code your authenticator shows'); return fields([['code', 'Code', 'text', 'one-time-code']], 'Confirm', function (v) { return call('POST', '/confirm-enroll', v); });
      case 'change-password': say('Choose a new password'); return fields([['currentPassword', 'Current password', 'password', 'current-password'], ['newPassword', 'New password', 'password', 'new-password']], 'Change password', function (v) { return call('POST', '/change-password', v); });
      case 'complete':
        if (state.recoveryCodes) { codes.hidden = false; codes.textContent = 'Recovery codes (keep them safe):\\n' + state.recoveryCodes.join('\\n'); }
        if (state.redirectTo) { say('Signed in; returning…'); location.assign(state.redirectTo); return; }
        say('Almost done'); return fields([], 'Continue', function () { return call('POST', '/complete'); });
    }
  }
  if (!uid) { say('This page is opened by a sign-in; start from /api/v3/user/oauth/authorize', true); return; }
  call('GET', '').then(show, function (err) { say(err.message, true); });
})();`;

/** The landing page: tokens arrive in the fragment (never sent to a server); errors in the query. */
const DONE_JS = `(function () {
  var msg = document.getElementById('message');
  var q = new URLSearchParams(location.search), h = new URLSearchParams(location.hash.slice(1));
  if (q.get('oauthError')) { msg.textContent = 'Sign-in failed: ' + q.get('oauthError'); msg.className = 'error'; return; }
  var token = h.get('accessToken');
  if (!token) { msg.textContent = 'Not signed in. Start at /api/v3/user/oauth/authorize'; return; }
  fetch('/api/v3/user/profile', { headers: { authorization: 'Bearer ' + token } }).then(function (r) { return r.json(); }).then(function (p) {
    msg.textContent = 'Signed in as ' + p.preferred_username; document.title = 'Signed in';
    // This page is where sign-ins land while CONSOLE_URL is the Controller itself: a console elsewhere did not get them.
    var hint = document.createElement('p'); hint.id = 'hint';
    hint.textContent = 'Sign-ins land on this Controller page because CONSOLE_URL is this Controller. If you signed in from a console on another address, it did not receive this sign-in: set CONSOLE_URL to the address of that console.';
    msg.parentNode.insertBefore(hint, msg.nextSibling);
  });
})();`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The page a misconfigured console sign-in stops on (static: no script, so the CSP holds). */
function consoleMismatchHtml(m: { startedFrom: string; consoleUrl: string }): string {
  const from = escapeHtml(m.startedFrom);
  const to = escapeHtml(m.consoleUrl);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in cannot return to the console</title><link rel="stylesheet" href="/login/login.css"></head>
<body><main><h1>Sign-in cannot return to the console</h1>
<p id="message" class="error">This sign-in was started from <code>${from}</code>, but this Controller hands sign-ins to <code>${to}/login</code> (its <code>CONSOLE_URL</code>), so the console at <code>${from}</code> would never receive them.</p>
<p>Set <code>CONSOLE_URL=${from}</code> on the Controller and restart it, then sign in again.</p>
</main></body></html>`;
}

function page(c: Context<HonoEnv>, body: string, type: string, status: 200 | 400 = 200) {
  return c.body(body, status, {
    'content-type': type,
    'content-security-policy': CSP,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
}

export const loginPageRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/login/oauth',
  tags: ['OIDC'],
  summary: 'Browser login page (drives the interaction API)',
  request: { query: z.object({ interaction: z.string().max(64).optional() }) },
  responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
});
export const landingPageRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/login',
  tags: ['OIDC'],
  summary: 'Where a browser login lands (tokens in the URL fragment)',
  request: { query: z.object({ oauthError: z.string().max(128).optional() }) },
  responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
});

export function registerOAuth(app: App): void {
  app.openapi(authorizeRoute, async (c) => {
    const ctx = c.get('ctx');
    const checked = checkAuthorize(ctx, c.req.valid('query'));
    if ('redirectError' in checked) {
      const back = new URL(checked.redirectUri);
      back.searchParams.set('error', checked.redirectError);
      back.searchParams.set('error_description', checked.description);
      if (checked.state) back.searchParams.set('state', checked.state);
      return c.redirect(back.toString(), 302);
    }
    const uid = await openInteraction(ctx, checked.params);
    return c.redirect(`${consoleUrl(ctx)}/login/oauth?interaction=${encodeURIComponent(uid)}`, 302);
  });
  app.openapi(tokenRoute, async (c) => {
    const ctx = c.get('ctx');
    const form = c.req.valid('form');
    const clientId = clientAuthenticated(c, form);
    try {
      if (!clientId) throw new OAuthError('invalid_client', 'Client authentication failed', 401);
      if (form.grant_type === 'authorization_code') {
        if (!form.code || !form.redirect_uri || !form.code_verifier)
          throw new OAuthError('invalid_request', 'code, redirect_uri and code_verifier are required');
        const t = await exchangeCode(ctx, {
          code: form.code,
          redirect_uri: form.redirect_uri,
          code_verifier: form.code_verifier,
          client_id: clientId,
        });
        return c.json(
          {
            access_token: t.accessToken,
            token_type: 'Bearer' as const,
            expires_in: ctx.config.accessTokenTtlSec,
            refresh_token: t.refreshToken,
            id_token: t.idToken,
            scope: 'openid profile email groups',
          },
          200,
          { 'Cache-Control': 'no-store' },
        );
      }
      if (form.grant_type !== 'refresh_token')
        throw new OAuthError(
          'unsupported_grant_type',
          `grant_type ${form.grant_type} is not supported (authorization_code, refresh_token)`,
        );
      if (!form.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required');
      const pair = await refreshSession(ctx, form.refresh_token).catch((err) => {
        throw err instanceof ServiceError && err.status === 401 ? new OAuthError('invalid_grant', err.message) : err;
      });
      return c.json(
        {
          access_token: pair.accessToken,
          token_type: 'Bearer' as const,
          expires_in: ctx.config.accessTokenTtlSec,
          refresh_token: pair.refreshToken,
        },
        200,
        { 'Cache-Control': 'no-store' },
      );
    } catch (err) {
      if (err instanceof OAuthError) return oauthErrorBody(c, err) as never;
      throw err;
    }
  });

  app.openapi(bffAuthorizeRoute, async (c) => {
    const ctx = c.get('ctx');
    // A console on another origin than CONSOLE_URL would never receive the tokens: say so now, plainly.
    const wrong = consoleOriginMismatch(ctx, c.req.header('referer'), c.req.url);
    if (wrong) return page(c, consoleMismatchHtml(wrong), 'text/html; charset=utf-8', 400) as never;
    return c.redirect(await bffStart(ctx), 302);
  });
  app.openapi(bffCallbackRoute, async (c) => {
    const ctx = c.get('ctx');
    const { code, state, error } = c.req.valid('query');
    const fail = (why: string) => c.redirect(`${consoleUrl(ctx)}/login?oauthError=${encodeURIComponent(why)}`, 302);
    if (error) return fail(error);
    if (!code || !state) return fail('invalid_request');
    try {
      const t = await bffCallback(ctx, code, state);
      return c.redirect(
        `${consoleUrl(ctx)}/login#accessToken=${encodeURIComponent(t.accessToken)}&refreshToken=${encodeURIComponent(t.refreshToken)}`,
        302,
      );
    } catch (err) {
      if (err instanceof OAuthError) return fail(err.error);
      throw err;
    }
  });

  app.openapi(interactionGetRoute, async (c) => c.json(await interactionStep(c.get('ctx'), c.req.valid('param').uid), 200));
  app.openapi(interactionLoginRoute, async (c) => {
    const { email, password } = c.req.valid('json') as { email: string; password: string };
    return c.json(await interactionLogin(c.get('ctx'), c.req.valid('param').uid, email, password), 200);
  });
  app.openapi(interactionMfaRoute, async (c) =>
    c.json(await interactionMfa(c.get('ctx'), c.req.valid('param').uid, (c.req.valid('json') as { code: string }).code), 200),
  );
  app.openapi(interactionEnrollRoute, async (c) => c.json(await interactionEnroll(c.get('ctx'), c.req.valid('param').uid), 200));
  app.openapi(interactionConfirmRoute, async (c) =>
    c.json(await interactionConfirmEnroll(c.get('ctx'), c.req.valid('param').uid, (c.req.valid('json') as { code: string }).code), 200),
  );
  app.openapi(interactionPasswordRoute, async (c) => {
    const b = c.req.valid('json') as { currentPassword: string; newPassword: string };
    return c.json(await interactionChangePassword(c.get('ctx'), c.req.valid('param').uid, b.currentPassword, b.newPassword), 200);
  });
  app.openapi(interactionCompleteRoute, async (c) => c.json(await interactionComplete(c.get('ctx'), c.req.valid('param').uid), 200));

  app.openapi(loginPageRoute, (c) => page(c, html('Sign in to the Controller', '/login/login.js'), 'text/html; charset=utf-8') as never);
  app.openapi(landingPageRoute, (c) => page(c, html('Controller', '/login/done.js'), 'text/html; charset=utf-8') as never);
  app.get('/login/login.js', (c) => page(c, LOGIN_JS, 'text/javascript; charset=utf-8'));
  app.get('/login/done.js', (c) => page(c, DONE_JS, 'text/javascript; charset=utf-8'));
  app.get('/login/login.css', (c) => page(c, CSS, 'text/css; charset=utf-8'));
}
