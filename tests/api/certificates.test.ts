import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestApp } from '../harness/app';
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

test('PKI: CAs and certificates verify with openssl; central CAs on first need; imported CAs (PKCS#8 and PKCS#1); renewal flags mounting fogs', {
  timeout: 120_000,
}, async () => {
  const t = await makeTestApp();
  try {
    const admin = (await t.login()).accessToken;
    const viewer = await t.userToken('viewer');
    const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: admin, body });

    // Self-signed CA.
    const created = await call('POST', '/api/v3/certificates/ca', {
      name: 'edge-ca',
      type: 'self-signed',
      subject: 'Edge Root',
      expiration: 24,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // Upstream answers the create with a short snake_case record and the reads in camelCase.
    assert.deepEqual(Object.keys(created.body).sort(), ['name', 'subject', 'type', 'valid_from', 'valid_to']);
    const ca = await call('GET', '/api/v3/certificates/ca/edge-ca');
    assert.equal(ca.body.isCA, true);
    assert.equal(ca.body.validTo, created.body.valid_to);
    assert.equal(ca.body.subject, 'CN=Edge Root');
    const caPem = ca.body.data.certificate as string;
    assert.match(ca.body.data.privateKey, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(verify(caPem, caPem), /: OK$/);
    const caText = openssl('x509', '-noout', '-text', '-in', file(caPem));
    assert.match(caText, /CA:TRUE/);
    assert.match(caText, /Certificate Sign, CRL Sign/);
    assert.match(caText, /Public-Key: \(2048 bit\)/);
    const days = (Date.parse(ca.body.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 725 && days < 733, `24 months ≈ 730 days (${days})`);
    assert.equal((await call('POST', '/api/v3/certificates/ca', { name: 'edge-ca', type: 'self-signed', subject: 'x' })).status, 409);
    assert.equal((await call('POST', '/api/v3/certificates/ca', { name: 'k8s', type: 'k8s-secret', secretName: 'x' })).status, 400);
    assert.equal((await call('POST', '/api/v3/certificates/ca', { name: 'nosecret', type: 'direct', secretName: 'missing' })).status, 404);
    assert.equal((await call('POST', '/api/v3/certificates/ca', { name: 'nosubject', type: 'self-signed' })).status, 400);

    // Leaf signed by it: SANs (an IP as IP and DNS), EKU, chain.
    const leafCreated = await call('POST', '/api/v3/certificates', {
      name: 'edge-leaf',
      subject: 'edge-1',
      hosts: 'edge.local,10.0.0.5',
      ca: { type: 'direct', secretName: 'edge-ca' },
    });
    assert.equal(leafCreated.status, 201, JSON.stringify(leafCreated.body));
    assert.equal(leafCreated.body.ca_name, 'edge-ca');
    const leaf = await call('GET', '/api/v3/certificates/edge-leaf');
    assert.equal(leaf.body.caName, 'edge-ca');
    assert.deepEqual(leaf.body.certificateChain, [{ name: 'edge-ca', subject: 'CN=Edge Root' }]);
    const leafPem = leaf.body.data.certificate as string;
    assert.match(verify(caPem, leafPem), /: OK$/);
    const leafText = openssl('x509', '-noout', '-text', '-in', file(leafPem));
    assert.match(leafText, /DNS:edge\.local/);
    assert.match(leafText, /IP Address:10\.0\.0\.5/);
    assert.match(leafText, /DNS:10\.0\.0\.5/);
    assert.match(leafText, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(leafText, /CA:FALSE/);
    const secret = await call('GET', '/api/v3/secrets/edge-leaf');
    assert.equal(secret.body.type, 'tls');
    assert.equal(atob(secret.body.data['ca.crt']), caPem);
    assert.equal((await call('POST', '/api/v3/certificates', { name: 'edge-leaf', subject: 'x', hosts: 'a' })).status, 409);
    assert.equal(
      (
        await call('POST', '/api/v3/certificates', {
          name: 'orphan',
          subject: 'x',
          hosts: 'a',
          ca: { type: 'direct', secretName: 'no-such-ca' },
        })
      ).status,
      404,
    );
    assert.equal((await call('POST', '/api/v3/certificates', { name: 'bad hosts', subject: 'x', hosts: 'a' })).status, 400);
    assert.equal((await call('POST', '/api/v3/certificates', { name: 'badhost', subject: 'x', hosts: 'a b' })).status, 400);
    const badIp = await call('POST', '/api/v3/certificates', { name: 'badip', subject: 'x', hosts: '1.2.3.999' });
    assert.equal(badIp.status, 400);
    assert.match(badIp.body.message, /^hosts: "1\.2\.3\.999"/);
    const badDn = await call('POST', '/api/v3/certificates/ca', { name: 'bad-dn', type: 'self-signed', subject: 'X=y' });
    assert.equal(badDn.status, 400);
    assert.match(badDn.body.message, /^subject: /);
    assert.equal((await call('GET', '/api/v3/certificates/ca/bad-dn')).status, 404, 'nothing half-written');

    // A central CA is created the first time something needs it.
    assert.deepEqual(
      (await call('GET', '/api/v3/certificates/ca')).body.cas.map((c: { name: string }) => c.name),
      ['edge-ca'],
    );
    const routerCert = await call('POST', '/api/v3/certificates', {
      name: 'router-local-agent-f1',
      subject: 'f1',
      hosts: 'localhost,127.0.0.1',
      ca: { type: 'direct', secretName: 'default-router-local-ca' },
    });
    assert.equal(routerCert.status, 201, JSON.stringify(routerCert.body));
    const central = await call('GET', '/api/v3/certificates/ca/default-router-local-ca');
    assert.equal(central.status, 200);
    assert.match(
      verify(central.body.data.certificate, (await call('GET', '/api/v3/certificates/router-local-agent-f1')).body.data.certificate),
      /: OK$/,
    );

    // Bring your own CA, with a PKCS#8 key and with a PKCS#1 key.
    for (const [label, traditional] of [
      ['pkcs8', false],
      ['pkcs1', true],
    ] as const) {
      const keyPath = join(dir, `own-${label}.key`);
      const certPath = join(dir, `own-${label}.crt`);
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
      assert.equal(
        (await call('POST', '/api/v3/secrets', { name: `own-${label}`, type: 'tls', data: { 'tls.crt': btoa(own), 'tls.key': btoa(key) } }))
          .status,
        201,
      );
      const imported = await call('POST', '/api/v3/certificates/ca', { name: `own-${label}`, type: 'direct', secretName: `own-${label}` });
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      assert.equal(imported.body.subject, `CN=Own ${label}`);
      const signed = await call('POST', '/api/v3/certificates', {
        name: `by-own-${label}`,
        subject: 'svc',
        hosts: 'svc.local',
        ca: { type: 'direct', secretName: `own-${label}` },
      });
      assert.equal(signed.status, 201, JSON.stringify(signed.body));
      assert.match(verify(own, (await call('GET', `/api/v3/certificates/by-own-${label}`)).body.data.certificate), /: OK$/);
    }
    // A tls secret that is not a CA cannot be adopted as one.
    const notCa = await call('POST', '/api/v3/certificates/ca', { name: 'leaf-as-ca', type: 'direct', secretName: 'edge-leaf' });
    assert.equal(notCa.status, 400);

    // Renewal: new key and serial, same subject and hosts; a fog mounting the secret gets volumeMounts.
    const fog = await call('POST', '/api/v3/iofog', { name: 'pki-fog', archId: 1, routerMode: 'none', natsMode: 'none' });
    const key = await call('GET', `/api/v3/iofog/${fog.body.uuid}/provisioning-key`);
    const agent = await AgentSigner.fromProvision(
      (await t.call('POST', '/api/v3/agent/provision', { body: { key: key.body.key, type: 1 } })).body,
    );
    assert.equal((await call('POST', '/api/v3/volumeMounts', { name: 'edge-tls', secretName: 'edge-leaf' })).status, 200);
    assert.equal((await call('POST', '/api/v3/volumeMounts/edge-tls/link', { fogUuids: [fog.body.uuid] })).status, 200);
    const changes = async () => (await t.call('GET', '/api/v3/agent/config/changes', { token: await agent.token() })).body;
    const c0 = await changes();
    await t.call('PATCH', '/api/v3/agent/config/changes', { token: await agent.token(), body: { lastUpdated: c0.lastUpdated } });
    assert.equal((await changes()).volumeMounts, false);
    const before = (await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body;
    const renewed = await call('POST', '/api/v3/certificates/edge-leaf/renew');
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal(renewed.body.renewed, true);
    assert.equal(renewed.body.subject, 'CN=edge-1');
    assert.equal(renewed.body.hosts, 'edge.local,10.0.0.5');
    const after = await call('GET', '/api/v3/certificates/edge-leaf');
    assert.notEqual(after.body.serialNumber, leaf.body.serialNumber);
    assert.notEqual(after.body.data.privateKey, leaf.body.data.privateKey);
    assert.match(verify(caPem, after.body.data.certificate), /: OK$/);
    assert.equal(
      openssl('x509', '-noout', '-subject', '-in', file(after.body.data.certificate)).trim(),
      openssl('x509', '-noout', '-subject', '-in', file(leafPem)).trim(),
    );
    assert.equal((await changes()).volumeMounts, true, 'the mounting fog is told');
    const mountsAfter = (await t.call('GET', '/api/v3/agent/volumeMounts', { token: await agent.token() })).body;
    assert.notDeepEqual(mountsAfter, before, 'the agent receives the new content/version');

    // The renewal job renews Controller-signed leaves that expire within its window, nothing else.
    const serials = async () =>
      Object.fromEntries(
        await Promise.all(
          ['by-own-pkcs8', 'edge-leaf', 'own-pkcs8'].map(async (nm) => [
            nm,
            (await call('GET', `/api/v3/certificates/${nm}`)).body.serialNumber,
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

    // Expiring, list, RBAC, deletes.
    assert.equal((await call('GET', '/api/v3/certificates/expiring?days=abc')).status, 400);
    assert.deepEqual((await call('GET', '/api/v3/certificates/expiring?days=1')).body.certificates, []);
    // The imported CAs are valid for 30 days, and what they signed cannot outlive them; edge-ca has 24 months.
    const soon = (await call('GET', '/api/v3/certificates/expiring?days=40')).body.certificates.map((c: { name: string }) => c.name);
    assert.deepEqual(soon, ['by-own-pkcs1', 'by-own-pkcs8', 'own-pkcs1', 'own-pkcs8']);
    const leafTo = Date.parse((await call('GET', '/api/v3/certificates/edge-leaf')).body.validTo);
    assert.ok(leafTo <= Date.parse((await call('GET', '/api/v3/certificates/ca/edge-ca')).body.validTo), 'a leaf never outlives its CA');
    const all = (await call('GET', '/api/v3/certificates')).body.certificates;
    assert.equal(all.find((c: { name: string }) => c.name === 'by-own-pkcs1').caName, 'own-pkcs1');
    assert.equal((await t.call('GET', '/api/v3/certificates', { token: viewer })).status, 200);
    assert.equal((await t.call('POST', '/api/v3/certificates/edge-leaf/renew', { token: viewer })).status, 403);
    assert.equal((await call('DELETE', '/api/v3/certificates/ca/edge-ca')).status, 400, 'it signed edge-leaf');
    assert.equal((await call('DELETE', '/api/v3/certificates/edge-leaf')).status, 409, 'a volume mount projects it');
    assert.equal((await call('DELETE', '/api/v3/volumeMounts/edge-tls')).status, 202);
    assert.equal((await call('DELETE', '/api/v3/certificates/edge-leaf')).status, 200);
    assert.equal((await call('GET', '/api/v3/secrets/edge-leaf')).status, 404, 'its secret went with it');
    assert.equal((await call('DELETE', '/api/v3/certificates/ca/edge-ca')).status, 200);
    assert.equal((await call('DELETE', '/api/v3/certificates/by-own-pkcs8')).status, 200);
    assert.equal((await call('DELETE', '/api/v3/certificates/ca/own-pkcs8')).status, 200);
    assert.equal((await call('GET', '/api/v3/secrets/own-pkcs8')).status, 200, "an imported CA's secret belongs to the operator");

    // An expired CA cannot sign or renew.
    assert.equal(
      (await call('POST', '/api/v3/certificates/ca', { name: 'brief-ca', type: 'self-signed', subject: 'Brief', expiration: 1000 })).status,
      201,
    );
    await new Promise((r) => setTimeout(r, 1200));
    const late = await call('POST', '/api/v3/certificates', {
      name: 'too-late',
      subject: 'x',
      hosts: 'x',
      ca: { type: 'direct', secretName: 'brief-ca' },
    });
    assert.equal(late.status, 400);
    assert.match(late.body.message, /expired/);

    // YAML kinds.
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
    const pem = async (path: string) => (await call('GET', path)).body.data.certificate as string;
    assert.match(verify(await pem('/api/v3/certificates/ca/yaml-ca'), await pem('/api/v3/certificates/yaml-cert')), /: OK$/);
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
  } finally {
    await t.close();
  }
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
