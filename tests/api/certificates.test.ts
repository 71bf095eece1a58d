import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestApp, type TestApp } from '../harness/app';
import { asUser, callError, callJson } from '../harness/typed';
import { ManualClock } from '../../src/lib/clock';
import { CaCreated, CaList, CaView, CertCreated, CertList, CertView, ExpiringList, Renewed } from '../../src/services/pki/schemas';
import { AgentSigner } from '../harness/agent-token';
import { renewExpiring } from '../../src/services/pki/certificates';

const dir = mkdtempSync(join(tmpdir(), 'pki-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const p = join(dir, `f${++n}.pem`);
  writeFileSync(p, text);
  return p;
};
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** `openssl verify` of `leaf` against `ca` (and intermediates); throws with openssl's message when it fails. */
const verify = (caPem: string, leafPem: string) => openssl('verify', '-CAfile', file(caPem), file(leafPem)).trim();

/** A fresh app with an admin acting through the typed harness; closed when `fn` ends. */
async function withAdmin(
  fn: (s: { t: TestApp; admin: string; api: ReturnType<typeof asUser> }) => Promise<void>,
  opts: { clock?: ManualClock } = {},
) {
  const t = await makeTestApp(opts);
  try {
    const admin = (await t.login()).accessToken;
    await fn({ t, admin, api: asUser(t, admin) });
  } finally {
    await t.close();
  }
}

const selfSignedCa = (api: ReturnType<typeof asUser>, name: string, subject: string, expiration?: number) =>
  api.json('POST', '/api/v3/certificates/ca', CaCreated, { body: { name, type: 'self-signed', subject, expiration }, expect: 201 });

const leafOf = (api: ReturnType<typeof asUser>, name: string, subject: string, hosts: string, caName: string) =>
  api.json('POST', '/api/v3/certificates', CertCreated, {
    body: { name, subject, hosts, ca: { type: 'direct', secretName: caName } },
    expect: 201,
  });

const certPem = async (api: ReturnType<typeof asUser>, path: string) =>
  (await api.json('GET', path, path.includes('/ca/') ? CaView : CertView, { expect: 200 })).body.data.certificate as string;

/** An operator-made CA (openssl, 30 days) stored as a tls secret and adopted with type `direct`; PKCS#1 key when `traditional`. */
async function importOwnCa(api: ReturnType<typeof asUser>, label: string, traditional: boolean): Promise<string> {
  const keyPath = join(dir, `own-${label}-${++n}.key`);
  const certPath = join(dir, `own-${label}-${n}.crt`);
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '30',
    '-subj',
    `/CN=Own ${label}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  let key = readFileSync(keyPath, 'utf8');
  if (traditional) key = openssl('rsa', '-traditional', '-in', keyPath);
  assert.match(key, traditional ? /BEGIN RSA PRIVATE KEY/ : /BEGIN PRIVATE KEY/);
  const own = readFileSync(certPath, 'utf8');
  await api.call('POST', '/api/v3/secrets', {
    body: { name: `own-${label}`, type: 'tls', data: { 'tls.crt': btoa(own), 'tls.key': btoa(key) } },
    expect: 201,
  });
  return own;
}

test('self-signed CA: openssl verifies it, CA extensions, 2048-bit RSA, months of validity; create answers the short upstream record', async () => {
  await withAdmin(async ({ api }) => {
    const created = await selfSignedCa(api, 'edge-ca', 'Edge Root', 24);
    // Upstream answers the create with a short snake_case record and the reads in camelCase.
    assert.deepEqual(Object.keys(created.body).sort(), ['name', 'subject', 'type', 'valid_from', 'valid_to']);
    const ca = (await api.json('GET', '/api/v3/certificates/ca/edge-ca', CaView, { expect: 200 })).body;
    assert.equal(ca.isCA, true);
    assert.equal(ca.validTo, created.body.valid_to);
    assert.equal(ca.subject, 'CN=Edge Root');
    const caPem = ca.data.certificate as string;
    assert.match(ca.data.privateKey ?? '', /^-----BEGIN PRIVATE KEY-----/);
    assert.match(verify(caPem, caPem), /: OK$/);
    const caText = openssl('x509', '-noout', '-text', '-in', file(caPem));
    assert.match(caText, /CA:TRUE/);
    assert.match(caText, /Certificate Sign, CRL Sign/);
    assert.match(caText, /Public-Key: \(2048 bit\)/);
    const days = (Date.parse(ca.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 725 && days < 733, `24 months ≈ 730 days (${days})`);
  });
});

test('CA create refusals: duplicate 409, k8s-secret 400, missing secret 404, no subject 400, unusable DN 400 naming subject with nothing half-written', async () => {
  await withAdmin(async ({ api }) => {
    await selfSignedCa(api, 'edge-ca', 'Edge Root');
    await api.error('POST', '/api/v3/certificates/ca', 409, { body: { name: 'edge-ca', type: 'self-signed', subject: 'x' } });
    await api.error('POST', '/api/v3/certificates/ca', 400, { body: { name: 'k8s', type: 'k8s-secret', secretName: 'x' } });
    await api.error('POST', '/api/v3/certificates/ca', 404, { body: { name: 'nosecret', type: 'direct', secretName: 'missing' } });
    await api.error('POST', '/api/v3/certificates/ca', 400, { body: { name: 'nosubject', type: 'self-signed' } });
    const badDn = await api.error('POST', '/api/v3/certificates/ca', 400, {
      body: { name: 'bad-dn', type: 'self-signed', subject: 'X=y' },
    });
    assert.match(badDn.message, /^subject: /);
    await api.error('GET', '/api/v3/certificates/ca/bad-dn', 404);
  });
});

test('leaf signed by a CA: openssl verifies the chain; an IP host is an IP and a DNS SAN; server+client EKU; a tls secret with ca.crt', async () => {
  await withAdmin(async ({ api }) => {
    await selfSignedCa(api, 'edge-ca', 'Edge Root');
    const caPem = await certPem(api, '/api/v3/certificates/ca/edge-ca');
    const created = await leafOf(api, 'edge-leaf', 'edge-1', 'edge.local,10.0.0.5', 'edge-ca');
    assert.equal(created.body.ca_name, 'edge-ca');
    const leaf = (await api.json('GET', '/api/v3/certificates/edge-leaf', CertView, { expect: 200 })).body;
    assert.equal(leaf.caName, 'edge-ca');
    assert.deepEqual(leaf.certificateChain, [{ name: 'edge-ca', subject: 'CN=Edge Root' }]);
    const leafPem = leaf.data.certificate as string;
    assert.match(verify(caPem, leafPem), /: OK$/);
    const leafText = openssl('x509', '-noout', '-text', '-in', file(leafPem));
    assert.match(leafText, /DNS:edge\.local/);
    assert.match(leafText, /IP Address:10\.0\.0\.5/);
    assert.match(leafText, /DNS:10\.0\.0\.5/);
    assert.match(leafText, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(leafText, /CA:FALSE/);
    const secret = await api.call<{ type: string; data: Record<string, string> }>('GET', '/api/v3/secrets/edge-leaf', { expect: 200 });
    assert.equal(secret.body.type, 'tls');
    assert.equal(atob(secret.body.data['ca.crt']!), caPem);
    const all = (await api.json('GET', '/api/v3/certificates', CertList, { expect: 200 })).body.certificates;
    assert.equal(all.find((c) => c.name === 'edge-leaf')?.caName, 'edge-ca');
    const leafTo = Date.parse(leaf.validTo);
    assert.ok(
      leafTo <= Date.parse((await api.json('GET', '/api/v3/certificates/ca/edge-ca', CaView)).body.validTo),
      'a leaf never outlives its CA',
    );
  });
});

test('certificate create refusals: duplicate 409, unknown CA 404, bad name or hosts 400 naming hosts', async () => {
  await withAdmin(async ({ api }) => {
    await selfSignedCa(api, 'edge-ca', 'Edge Root');
    await leafOf(api, 'edge-leaf', 'edge-1', 'edge.local', 'edge-ca');
    await api.error('POST', '/api/v3/certificates', 409, { body: { name: 'edge-leaf', subject: 'x', hosts: 'a' } });
    await api.error('POST', '/api/v3/certificates', 404, {
      body: { name: 'orphan', subject: 'x', hosts: 'a', ca: { type: 'direct', secretName: 'no-such-ca' } },
    });
    await api.error('POST', '/api/v3/certificates', 400, { body: { name: 'bad hosts', subject: 'x', hosts: 'a' } });
    await api.error('POST', '/api/v3/certificates', 400, { body: { name: 'badhost', subject: 'x', hosts: 'a b' } });
    const badIp = await api.error('POST', '/api/v3/certificates', 400, { body: { name: 'badip', subject: 'x', hosts: '1.2.3.999' } });
    assert.match(badIp.message, /^hosts: "1\.2\.3\.999"/);
  });
});

test('a central CA is created the first time a certificate names it', async () => {
  await withAdmin(async ({ api }) => {
    assert.deepEqual((await api.json('GET', '/api/v3/certificates/ca', CaList, { expect: 200 })).body.cas, []);
    await leafOf(api, 'router-local-agent-f1', 'f1', 'localhost,127.0.0.1', 'default-router-local-ca');
    assert.match(
      verify(
        await certPem(api, '/api/v3/certificates/ca/default-router-local-ca'),
        await certPem(api, '/api/v3/certificates/router-local-agent-f1'),
      ),
      /: OK$/,
    );
    assert.deepEqual(
      (await api.json('GET', '/api/v3/certificates/ca', CaList)).body.cas.map((c) => c.name),
      ['default-router-local-ca'],
    );
  });
});

test('bring your own CA: a tls secret with a PKCS#8 or a PKCS#1 key is adopted and signs; a non-CA certificate is refused', async () => {
  await withAdmin(async ({ api }) => {
    for (const [label, traditional] of [
      ['pkcs8', false],
      ['pkcs1', true],
    ] as const) {
      const own = await importOwnCa(api, label, traditional);
      const imported = await api.json('POST', '/api/v3/certificates/ca', CaCreated, {
        body: { name: `own-${label}`, type: 'direct', secretName: `own-${label}` },
        expect: 201,
      });
      assert.equal(imported.body.subject, `CN=Own ${label}`);
      await leafOf(api, `by-own-${label}`, 'svc', 'svc.local', `own-${label}`);
      assert.match(verify(own, await certPem(api, `/api/v3/certificates/by-own-${label}`)), /: OK$/);
    }
    const all = (await api.json('GET', '/api/v3/certificates', CertList)).body.certificates;
    assert.equal(all.find((c) => c.name === 'by-own-pkcs1')?.caName, 'own-pkcs1');
    // A tls secret that is not a CA cannot be adopted as one.
    await selfSignedCa(api, 'edge-ca', 'Edge Root');
    await leafOf(api, 'edge-leaf', 'edge-1', 'edge.local', 'edge-ca');
    await api.error('POST', '/api/v3/certificates/ca', 400, { body: { name: 'leaf-as-ca', type: 'direct', secretName: 'edge-leaf' } });
  });
});

test('renewal: new key and serial, same subject and hosts; a fog mounting the secret gets volumeMounts and the new content', async () => {
  await withAdmin(async ({ t, api }) => {
    await selfSignedCa(api, 'edge-ca', 'Edge Root');
    const caPem = await certPem(api, '/api/v3/certificates/ca/edge-ca');
    await leafOf(api, 'edge-leaf', 'edge-1', 'edge.local,10.0.0.5', 'edge-ca');
    const leaf = (await api.json('GET', '/api/v3/certificates/edge-leaf', CertView)).body;
    const fog = await api.call<{ uuid: string }>('POST', '/api/v3/iofog', {
      body: { name: 'pki-fog', archId: 1, routerMode: 'none', natsMode: 'none' },
      expect: 201,
    });
    const key = await api.call<{ key: string }>('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`);
    const agent = await AgentSigner.fromProvision(
      (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
    );
    await api.call('POST', '/api/v3/volumeMounts', { body: { name: 'edge-tls', secretName: 'edge-leaf' }, expect: 200 });
    await api.call('POST', '/api/v3/volumeMounts/edge-tls/link', { body: { fogUuids: [fog.body.uuid] }, expect: 200 });
    type Changes = { lastUpdated: string; volumeMounts: boolean };
    const changes = async () => (await callJson<Changes>(t, 'GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    const c0 = await changes();
    await t.call('PATCH', '/api/v3/agent/config/changes', { token: await agent.token(), body: { lastUpdated: c0.lastUpdated } });
    assert.equal((await changes()).volumeMounts, false);
    const before = (await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body;
    const renewed = await api.json('POST', '/api/v3/certificates/edge-leaf/renew', Renewed, { expect: 200 });
    assert.equal(renewed.body.renewed, true);
    assert.equal(renewed.body.subject, 'CN=edge-1');
    assert.equal(renewed.body.hosts, 'edge.local,10.0.0.5');
    const after = (await api.json('GET', '/api/v3/certificates/edge-leaf', CertView)).body;
    assert.notEqual(after.serialNumber, leaf.serialNumber);
    assert.notEqual(after.data.privateKey, leaf.data.privateKey);
    assert.match(verify(caPem, after.data.certificate as string), /: OK$/);
    assert.equal(
      openssl('x509', '-noout', '-subject', '-in', file(after.data.certificate as string)).trim(),
      openssl('x509', '-noout', '-subject', '-in', file(leaf.data.certificate as string)).trim(),
    );
    assert.equal((await changes()).volumeMounts, true, 'the mounting fog is told');
    const mountsAfter = (await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body;
    assert.notDeepEqual(mountsAfter, before, 'the agent receives the new content/version');
  });
});

test('the renewal job renews Controller-signed leaves due within its window, never CAs; the expiring list shows what is due', async () => {
  await withAdmin(async ({ t, api }) => {
    await selfSignedCa(api, 'edge-ca', 'Edge Root', 24);
    await leafOf(api, 'edge-leaf', 'edge-1', 'edge.local', 'edge-ca');
    for (const [label, traditional] of [
      ['pkcs8', false],
      ['pkcs1', true],
    ] as const) {
      await importOwnCa(api, label, traditional);
      await api.json('POST', '/api/v3/certificates/ca', CaCreated, {
        body: { name: `own-${label}`, type: 'direct', secretName: `own-${label}` },
        expect: 201,
      });
      await leafOf(api, `by-own-${label}`, 'svc', 'svc.local', `own-${label}`);
    }
    await api.error('GET', '/api/v3/certificates/expiring?days=abc', 400);
    assert.deepEqual((await api.json('GET', '/api/v3/certificates/expiring?days=1', ExpiringList, { expect: 200 })).body.certificates, []);
    // The imported CAs are valid for 30 days, and what they signed cannot outlive them; edge-ca has 24 months.
    const soon = (await api.json('GET', '/api/v3/certificates/expiring?days=40', ExpiringList)).body.certificates.map((c) => c.name);
    assert.deepEqual(soon, ['by-own-pkcs1', 'by-own-pkcs8', 'own-pkcs1', 'own-pkcs8']);

    const serials = async () =>
      Object.fromEntries(
        await Promise.all(
          ['by-own-pkcs8', 'edge-leaf', 'own-pkcs8'].map(async (nm) => [
            nm,
            (await api.json('GET', `/api/v3/certificates/${nm}`, CertView, { expect: 200 })).body.serialNumber,
          ]),
        ),
      );
    const s0 = await serials();
    assert.deepEqual(await renewExpiring(t.ctx, 40), { renewed: ['by-own-pkcs1', 'by-own-pkcs8'], failed: [] });
    const s1 = await serials();
    assert.notEqual(s1['by-own-pkcs8'], s0['by-own-pkcs8']);
    assert.equal(s1['edge-leaf'], s0['edge-leaf'], 'not due');
    assert.equal(s1['own-pkcs8'], s0['own-pkcs8'], 'CAs are never renewed automatically');
    assert.deepEqual(await renewExpiring(t.ctx, 0), { renewed: [], failed: [] }, 'CERT_RENEW_BEFORE_DAYS=0 turns it off');
  });
});

test('certificate access and deletes: a viewer lists but cannot renew; a CA that signed, or a mounted certificate, is not deleted; an imported CA leaves its secret', async () => {
  await withAdmin(async ({ t, api }) => {
    const viewer = await t.userToken('viewer');
    await selfSignedCa(api, 'edge-ca', 'Edge Root');
    await leafOf(api, 'edge-leaf', 'edge-1', 'edge.local', 'edge-ca');
    await importOwnCa(api, 'pkcs8', false);
    await api.json('POST', '/api/v3/certificates/ca', CaCreated, {
      body: { name: 'own-pkcs8', type: 'direct', secretName: 'own-pkcs8' },
      expect: 201,
    });
    await leafOf(api, 'by-own-pkcs8', 'svc', 'svc.local', 'own-pkcs8');
    await api.call('POST', '/api/v3/volumeMounts', { body: { name: 'edge-tls', secretName: 'edge-leaf' }, expect: 200 });

    await callJson(t, 'GET', '/api/v3/certificates', { token: viewer, expect: 200, schema: CertList });
    await callError(t, 'POST', '/api/v3/certificates/edge-leaf/renew', 403, { token: viewer });
    await api.error('DELETE', '/api/v3/certificates/ca/edge-ca', 400); // it signed edge-leaf
    await api.error('DELETE', '/api/v3/certificates/edge-leaf', 409); // a volume mount projects it
    await api.call('DELETE', '/api/v3/volumeMounts/edge-tls', { expect: 202 });
    await api.call('DELETE', '/api/v3/certificates/edge-leaf', { expect: 200 });
    await api.error('GET', '/api/v3/secrets/edge-leaf', 404); // its secret went with it
    await api.call('DELETE', '/api/v3/certificates/ca/edge-ca', { expect: 200 });
    await api.call('DELETE', '/api/v3/certificates/by-own-pkcs8', { expect: 200 });
    await api.call('DELETE', '/api/v3/certificates/ca/own-pkcs8', { expect: 200 });
    // An imported CA's secret belongs to the operator.
    await api.call('GET', '/api/v3/secrets/own-pkcs8', { expect: 200 });
  });
});

test('certificate validity and expiry follow the injected clock: an expired CA cannot sign or renew', async () => {
  // Ten minutes behind the wall clock, so a validity computed from Date.now() instead of ctx.clock shows.
  const clock = new ManualClock(Date.now() - 10 * 60_000);
  await withAdmin(
    async ({ api }) => {
      await selfSignedCa(api, 'edge-ca', 'Edge Root', 24);
      // expiration >= 1000 is milliseconds: this CA is valid for five minutes of the Controller's clock.
      const created = await selfSignedCa(api, 'brief-ca', 'Brief', 300_000);
      assert.equal(Date.parse(created.body.valid_from), clock.now() - 60_000, 'backdated one minute from ctx.clock');
      assert.equal(Date.parse(created.body.valid_to), clock.now() + 300_000);
      await leafOf(api, 'brief-leaf', 'b', 'b.local', 'brief-ca');
      clock.advance(6 * 60_000);
      const late = await api.error('POST', '/api/v3/certificates', 400, {
        body: { name: 'too-late', subject: 'x', hosts: 'x', ca: { type: 'direct', secretName: 'brief-ca' } },
      });
      assert.match(late.message, /expired/);
      const renew = await api.error('POST', '/api/v3/certificates/brief-leaf/renew', 400);
      assert.match(renew.message, /expired/);
      // A CA still valid at the advanced time keeps signing.
      await leafOf(api, 'still-fine', 'f', 'f.local', 'edge-ca');
    },
    { clock },
  );
});

test('certificate YAML kinds: CertificateAuthority and Certificate as potctl sends them; a missing subject or a foreign kind is 400', async () => {
  await withAdmin(async ({ t, admin, api }) => {
    const yCa = await t.upload(
      'POST',
      '/api/v3/certificates/yaml',
      'certificate',
      'apiVersion: iofog.org/v3\nkind: CertificateAuthority\nmetadata: { name: yaml-ca }\nspec: { type: self-signed, subject: YAML Root, expiration: 12 }\n',
      admin,
    );
    assert.equal(yCa.status, 201, JSON.stringify(yCa.body));
    const yCert = await t.upload(
      'POST',
      '/api/v3/certificates/yaml',
      'certificate',
      'apiVersion: iofog.org/v3\nkind: Certificate\nmetadata: { name: yaml-cert }\nspec:\n  subject: svc\n  hosts: svc.local\n  ca: { type: direct, secretName: yaml-ca }\n',
      admin,
    );
    assert.equal(yCert.status, 201, JSON.stringify(yCert.body));
    assert.equal(yCert.body.ca_name, 'yaml-ca', 'potctl reads the upstream create record');
    assert.match(
      verify(await certPem(api, '/api/v3/certificates/ca/yaml-ca'), await certPem(api, '/api/v3/certificates/yaml-cert')),
      /: OK$/,
    );
    const yBad = await t.upload(
      'POST',
      '/api/v3/certificates/yaml',
      'certificate',
      'apiVersion: iofog.org/v3\nkind: Certificate\nmetadata: { name: y2 }\nspec: { hosts: a }\n',
      admin,
    );
    assert.equal(yBad.status, 400);
    assert.match(yBad.body.message, /^spec\.subject/);
    const yKind = await t.upload(
      'POST',
      '/api/v3/certificates/yaml',
      'certificate',
      'apiVersion: iofog.org/v3\nkind: Secret\nmetadata: { name: y3 }\n',
      admin,
    );
    assert.equal(yKind.status, 400);
  });
});

test('certificates: the reads answer camelCase as upstream does (the console reads isCA, validTo, caName), the writes keep upstream snake_case', async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });
    assert.equal(
      (await call('POST', '/api/v3/certificates/ca', { name: 'camel-ca', type: 'self-signed', subject: 'Camel Root' })).status,
      201,
    );
    assert.equal(
      (
        await call('POST', '/api/v3/certificates', {
          name: 'camel-leaf',
          subject: 'leaf',
          hosts: 'leaf.local',
          ca: { type: 'direct', secretName: 'camel-ca' },
        })
      ).status,
      201,
    );

    const ca = (await call('GET', '/api/v3/certificates/ca/camel-ca')).body;
    assert.deepEqual(Object.keys(ca).sort(), ['data', 'isCA', 'name', 'serialNumber', 'subject', 'validFrom', 'validTo']);
    assert.deepEqual(Object.keys(ca.data).sort(), ['certificate', 'privateKey']);
    assert.equal(ca.isCA, true);

    const leaf = (await call('GET', '/api/v3/certificates/camel-leaf')).body;
    assert.deepEqual(Object.keys(leaf).sort(), [
      'caName',
      'certificateChain',
      'data',
      'daysRemaining',
      'hosts',
      'isCA',
      'isExpired',
      'name',
      'serialNumber',
      'subject',
      'validFrom',
      'validTo',
    ]);
    assert.equal(leaf.isCA, false);
    assert.equal(leaf.isExpired, false);
    assert.equal(leaf.caName, 'camel-ca');

    const listed = (await call('GET', '/api/v3/certificates')).body.certificates.find((c: { name: string }) => c.name === 'camel-leaf');
    assert.deepEqual(Object.keys(listed).sort(), [
      'caName',
      'daysRemaining',
      'hosts',
      'isCA',
      'isExpired',
      'name',
      'subject',
      'validFrom',
      'validTo',
    ]);

    // Upstream's CA list, expiring list and renew answers stayed snake_case.
    assert.deepEqual(Object.keys((await call('GET', '/api/v3/certificates/ca')).body.cas[0]).sort(), [
      'days_remaining',
      'is_expired',
      'name',
      'subject',
      'valid_from',
      'valid_to',
    ]);
    const expiring = (await call('GET', '/api/v3/certificates/expiring?days=99999')).body.certificates.find(
      (c: { name: string }) => c.name === 'camel-leaf',
    );
    assert.deepEqual(Object.keys(expiring).sort(), [
      'ca_name',
      'days_remaining',
      'hosts',
      'is_ca',
      'name',
      'subject',
      'valid_from',
      'valid_to',
    ]);
    assert.deepEqual(Object.keys((await call('POST', '/api/v3/certificates/camel-leaf/renew')).body).sort(), [
      'hosts',
      'name',
      'renewed',
      'subject',
      'valid_from',
      'valid_to',
    ]);
  } finally {
    await t.close();
  }
});
