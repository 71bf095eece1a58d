// A real browser signs in through the embedded issuer: /user/oauth/authorize → issuer → the login
// page (password, then TOTP) → callback → CONSOLE_URL/login with the tokens in the fragment. The
// access token then works on the API, and logout revokes the refresh token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { ADMIN, ROOT, startController } from '../harness/process';
import { generateTotp } from '../../src/auth/totp';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const skip = !haveChromium && !process.env.CI ? `${CHROMIUM} not found (apt-get install -y chromium); skipped outside CI` : false;

test('browser login with password + TOTP lands on CONSOLE_URL with working tokens; logout revokes the refresh token', {
  skip,
  timeout: 90_000,
}, async () => {
  assert.ok(haveChromium, `${CHROMIUM} is required when CI is set`);
  const ctl = await startController({ publicUrl: true });
  const profileDir = mkdtempSync(join(tmpdir(), 'login-chromium-'));
  try {
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const r = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    // A user with TOTP enrolled.
    const admin = (await api('POST', '/api/v3/user/login', undefined, ADMIN)).body.accessToken;
    assert.equal(
      (await api('POST', '/api/v3/users', admin, { email: 'maria@plant.example', password: 'Initial-Passw0rd-1', groups: ['developer'] }))
        .status,
      201,
    );
    const first = (await api('POST', '/api/v3/user/login', undefined, { email: 'maria@plant.example', password: 'Initial-Passw0rd-1' }))
      .body.accessToken;
    assert.equal(
      (await api('POST', '/api/v3/user/change-password', first, { currentPassword: 'Initial-Passw0rd-1', newPassword: 'Maria-Passw0rd-7' }))
        .status,
      200,
    );
    const token = (await api('POST', '/api/v3/user/login', undefined, { email: 'maria@plant.example', password: 'Maria-Passw0rd-7' })).body
      .accessToken;
    const secret = (await api('POST', '/api/v3/user/mfa/enroll', token)).body.secret;
    assert.equal((await api('POST', '/api/v3/user/mfa/confirm', token, { code: generateTotp(secret, Date.now()) })).status, 200);

    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
      ],
      viewport: { width: 900, height: 700 },
    });
    try {
      context.setDefaultTimeout(15_000);
      const errors: string[] = [];
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

      await page.goto(`${ctl.url}/api/v3/user/oauth/authorize`);
      await page.waitForURL(/\/login\/oauth\?interaction=/);
      await page.locator('#email').fill('maria@plant.example');
      await page.locator('#password').fill('Maria-Passw0rd-7');
      await page.locator('button[type=submit]').click();
      // The code of the next 30 s step: the one used to confirm enrollment cannot be replayed.
      await page.locator('#code').waitFor({ state: 'visible' });
      await page.locator('#code').fill(generateTotp(secret, Date.now() + 30_000));
      await page.locator('button[type=submit]').click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(/\/login#accessToken=/);
      await page.locator('#message', { hasText: 'Signed in as maria@plant.example' }).waitFor();
      // The Controller's own landing page says where a console elsewhere should point CONSOLE_URL.
      await page.locator('#hint', { hasText: 'set CONSOLE_URL to the address of that console' }).waitFor();
      mkdirSync(join(ROOT, 'tests/artifacts'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'tests/artifacts/browser-login.png') });

      const landed = new URL(page.url());
      assert.equal(landed.origin, ctl.url, 'CONSOLE_URL defaults to the Controller itself');
      assert.equal(landed.search, '', 'no tokens in the query');
      const frag = new URLSearchParams(landed.hash.slice(1));
      const access = frag.get('accessToken')!;
      const refresh = frag.get('refreshToken')!;
      const profile = await api('GET', '/api/v3/user/profile', access);
      assert.equal(profile.status, 200);
      assert.equal(profile.body.preferred_username, 'maria@plant.example');
      assert.equal(
        (await api('POST', '/api/v3/application', access, { name: 'from-browser' })).status,
        201,
        'the access token works on the API (developer)',
      );
      assert.equal((await api('POST', '/api/v3/user/logout', access)).status, 204);
      assert.equal(
        (await api('POST', '/api/v3/user/refresh', undefined, { refreshToken: refresh })).status,
        401,
        'logout revoked the refresh token',
      );
      assert.deepEqual(errors, [], 'no page errors');
    } finally {
      await context.close();
    }
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
    await ctl.stop();
  }
});

/**
 * A console served on its own origin (as the EdgeOps console is: a static app that sends the browser to
 * /user/oauth/authorize, drives the interaction API across origins on its /login/oauth page, and reads
 * the tokens from the fragment on its /login page). With CONSOLE_URL naming it, one variable, a real
 * browser signs in end to end; a console on an origin CONSOLE_URL does not name stops at once on a page
 * that says which CONSOLE_URL to set, instead of waiting forever for tokens that land elsewhere.
 */
test('a console on another origin signs in with CONSOLE_URL set to it; a console CONSOLE_URL does not name fails visibly', {
  skip,
  timeout: 90_000,
}, async () => {
  assert.ok(haveChromium, `${CHROMIUM} is required when CI is set`);
  const consoles: Server[] = [];
  const serveConsole = async (ctlUrl: () => string) => {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const htmlPage = (body: string) =>
        `<!doctype html><html><head><meta charset="utf-8"><title>console</title></head><body>${body}</body></html>`;
      const send = (type: string, body: string) => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      };
      if (path === '/') return send('text/html', htmlPage(`<a id="signin" href="${ctlUrl()}/api/v3/user/oauth/authorize">Sign in</a>`));
      if (path === '/login/oauth' || path === '/login')
        return send(
          'text/html',
          htmlPage(`<p id="message"></p><script src="${path === '/login' ? '/landing.js' : '/interaction.js'}"></script>`),
        );
      if (path === '/interaction.js') {
        return send(
          'text/javascript',
          `(async () => {
  const base = ${JSON.stringify(ctlUrl())} + '/api/v3/user/interaction/' + encodeURIComponent(new URLSearchParams(location.search).get('interaction'));
  const post = async (p, body) => (await fetch(base + p, { method: 'POST', headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined })).json();
  const step = await post('/login', { email: 'ops@plant.example', password: 'Ops-Passw0rd-7' });
  if (step.step !== 'complete') { document.getElementById('message').textContent = 'unexpected step ' + step.step; return; }
  location.assign((await post('/complete')).redirectTo);
})().catch((e) => { document.getElementById('message').textContent = 'error ' + e; });`,
        );
      }
      if (path === '/landing.js') {
        return send(
          'text/javascript',
          `(async () => {
  const token = new URLSearchParams(location.hash.slice(1)).get('accessToken');
  const profile = await (await fetch(${JSON.stringify(ctlUrl())} + '/api/v3/user/profile', { headers: { authorization: 'Bearer ' + token } })).json();
  document.getElementById('message').textContent = 'Console signed in as ' + profile.preferred_username;
})().catch((e) => { document.getElementById('message').textContent = 'error ' + e; });`,
        );
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    consoles.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  let ctlUrl = '';
  const good = await serveConsole(() => ctlUrl);
  const stray = await serveConsole(() => ctlUrl);
  const ctl = await startController({ publicUrl: true, env: { CONSOLE_URL: good } });
  ctlUrl = ctl.url;
  const profileDir = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  try {
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const r = await fetch(ctl.url + path, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const admin = (await api('POST', '/api/v3/user/login', undefined, ADMIN)).body.accessToken;
    assert.equal(
      (await api('POST', '/api/v3/users', admin, { email: 'ops@plant.example', password: 'Initial-Passw0rd-1', groups: ['developer'] }))
        .status,
      201,
    );
    const first = (await api('POST', '/api/v3/user/login', undefined, { email: 'ops@plant.example', password: 'Initial-Passw0rd-1' })).body
      .accessToken;
    assert.equal(
      (await api('POST', '/api/v3/user/change-password', first, { currentPassword: 'Initial-Passw0rd-1', newPassword: 'Ops-Passw0rd-7' }))
        .status,
      200,
    );

    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
    try {
      context.setDefaultTimeout(15_000);
      const page = context.pages()[0] ?? (await context.newPage());
      // The console CONSOLE_URL names: the interaction runs on its page, the tokens land on its /login.
      await page.goto(`${good}/`);
      await page.locator('#signin').click();
      await page.locator('#message', { hasText: 'Console signed in as ops@plant.example' }).waitFor();
      const landed = new URL(page.url());
      assert.equal(landed.origin, good);
      assert.equal(landed.pathname, '/login');
      assert.ok(new URLSearchParams(landed.hash.slice(1)).get('accessToken'), 'tokens in the fragment');

      // A console on another origin: the sign-in stops on the Controller, saying what to set.
      await page.goto(`${stray}/`);
      await page.locator('#signin').click();
      await page.getByText(`Set CONSOLE_URL=${stray} on the Controller`).waitFor();
      assert.equal(new URL(page.url()).origin, ctl.url);
    } finally {
      await context.close();
    }
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
    await ctl.stop();
    for (const s of consoles) s.close();
  }
});
