import { z } from '@hono/zod-openapi';
import { parse as parseYaml } from 'yaml';
import { defineRoute, rbac } from '../../src/http/route';
import { REVEAL_VERB } from '../../src/auth/rbac';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { invalid } from '../../src/errors';
import { formatPath, parseKind, validateYaml } from '../../src/services/yaml/kinds';
import {
  createCa,
  createCertificate,
  deleteCa,
  deleteCertificate,
  getCa,
  getCertificate,
  listCas,
  listCertificates,
  listExpiringCertificates,
  renewCertificate,
} from '../../src/services/pki/certificates';
import {
  CaCreate,
  CaCreated,
  CaList,
  CaView,
  CertCreate,
  CertCreated,
  CertList,
  CertView,
  ExpiringList,
  Renewed,
} from '../../src/services/pki/schemas';

/** Certificate authorities and certificates. */

const tags = ['Certificates'];
const nf = { 404: errorResponse('Not found', 404) };
const bad = { 400: errorResponse('Invalid request', 400) };
const dup = { 409: errorResponse('Name in use', 409) };
const Name = z.object({ name: z.string().min(1).max(255) });

export const certificateRoutes = {
  createCa: defineRoute(rbac('certificates', 'create'), {
    method: 'post',
    path: '/api/v3/certificates/ca',
    tags,
    summary: 'Create a CA: self-signed, or adopted from a tls secret (direct)',
    request: { body: jsonBody(CaCreate) },
    responses: { 201: jsonOk('CA', CaCreated), ...bad, ...nf, ...dup },
  }),
  listCas: defineRoute(rbac('certificates', 'list'), {
    method: 'get',
    path: '/api/v3/certificates/ca',
    tags,
    summary: 'List CAs',
    responses: { 200: jsonOk('CAs', CaList) },
  }),
  getCa: defineRoute(rbac('certificates', REVEAL_VERB, 'name'), {
    method: 'get',
    path: '/api/v3/certificates/ca/{name}',
    tags,
    summary: 'A CA with its PEM data',
    request: { params: Name },
    responses: { 200: jsonOk('CA', CaView), ...nf },
  }),
  deleteCa: defineRoute(rbac('certificates', 'delete', 'name'), {
    method: 'delete',
    path: '/api/v3/certificates/ca/{name}',
    tags,
    summary: 'Delete a CA (not while it has signed certificates)',
    request: { params: Name },
    responses: { 200: { description: 'Deleted' }, ...bad, ...nf, ...dup },
  }),
  create: defineRoute(rbac('certificates', 'create'), {
    method: 'post',
    path: '/api/v3/certificates',
    tags,
    summary: 'Issue a TLS certificate',
    request: { body: jsonBody(CertCreate) },
    responses: { 201: jsonOk('Certificate', CertCreated), ...bad, ...nf, ...dup },
  }),
  list: defineRoute(rbac('certificates', 'list'), {
    method: 'get',
    path: '/api/v3/certificates',
    tags,
    summary: 'List certificates',
    responses: { 200: jsonOk('Certificates', CertList) },
  }),
  expiring: defineRoute(rbac('certificates', 'list'), {
    method: 'get',
    path: '/api/v3/certificates/expiring',
    tags,
    summary: 'Certificates whose validity ends within N days',
    request: {
      query: z.object({
        days: z
          .string()
          .regex(/^\d{1,5}$/, 'must be a whole number of days')
          .optional(),
      }),
    },
    responses: { 200: jsonOk('Certificates', ExpiringList), ...bad },
  }),
  get: defineRoute(rbac('certificates', REVEAL_VERB, 'name'), {
    method: 'get',
    path: '/api/v3/certificates/{name}',
    tags,
    summary: 'A certificate with its chain and PEM data',
    request: { params: Name },
    responses: { 200: jsonOk('Certificate', CertView), ...nf },
  }),
  delete: defineRoute(rbac('certificates', 'delete', 'name'), {
    method: 'delete',
    path: '/api/v3/certificates/{name}',
    tags,
    summary: 'Delete a certificate and its secret',
    request: { params: Name },
    responses: { 200: { description: 'Deleted' }, ...bad, ...nf, ...dup },
  }),
  renew: defineRoute(rbac('certificates', 'patch', 'name'), {
    method: 'post',
    path: '/api/v3/certificates/{name}/renew',
    tags,
    summary: 'Re-issue with a new key, same subject, hosts and CA',
    request: { params: Name },
    responses: { 200: jsonOk('Renewed', Renewed), ...bad, ...nf },
  }),
  yaml: defineRoute(rbac('certificates', 'create'), {
    method: 'post',
    path: '/api/v3/certificates/yaml',
    tags,
    summary: 'Create a Certificate or CertificateAuthority from YAML',
    request: { body: yamlUploadBody('certificate') },
    responses: { 201: jsonOk('Certificate or CA', z.union([CertCreated, CaCreated])), ...bad, ...nf, ...dup },
  }),
};

const yamlPathOf = (p: PropertyKey[]) => (p[0] === 'name' ? 'metadata.name' : `spec.${formatPath(p)}`);

export function registerCertificates(app: App): void {
  app.openapi(certificateRoutes.createCa, async (c) => c.json(await createCa(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(certificateRoutes.listCas, async (c) => c.json(await listCas(c.get('ctx')), 200));
  app.openapi(certificateRoutes.getCa, async (c) => c.json(await getCa(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(certificateRoutes.deleteCa, async (c) => {
    await deleteCa(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 200);
  });
  app.openapi(certificateRoutes.create, async (c) => c.json(await createCertificate(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(certificateRoutes.list, async (c) => c.json(await listCertificates(c.get('ctx')), 200));
  app.openapi(certificateRoutes.expiring, async (c) =>
    c.json(await listExpiringCertificates(c.get('ctx'), Number(c.req.valid('query').days ?? 30)), 200),
  );
  app.openapi(certificateRoutes.get, async (c) => c.json(await getCertificate(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(certificateRoutes.delete, async (c) => {
    await deleteCertificate(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 200);
  });
  app.openapi(certificateRoutes.renew, async (c) => c.json(await renewCertificate(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(certificateRoutes.yaml, async (c) => {
    const text = await readYamlUpload(c, 'certificate');
    let kind: unknown;
    try {
      kind = (parseYaml(text, { maxAliasCount: 100 }) as { kind?: unknown } | null)?.kind;
    } catch {
      kind = undefined; // parseKind reports the syntax error
    }
    if (kind === 'CertificateAuthority') {
      const { name: n, spec } = parseKind(text, 'CertificateAuthority');
      return c.json(await createCa(c.get('ctx'), validateYaml(CaCreate, { name: n, ...spec }, yamlPathOf)), 201);
    }
    if (kind !== undefined && kind !== 'Certificate')
      throw invalid(`kind: expected Certificate or CertificateAuthority, got ${String(kind)}`);
    const { name: n, spec } = parseKind(text, 'Certificate');
    return c.json(await createCertificate(c.get('ctx'), validateYaml(CertCreate, { name: n, ...spec }, yamlPathOf)), 201);
  });
}
