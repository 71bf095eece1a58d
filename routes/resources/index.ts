import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import { REVEAL_VERB } from '../../src/auth/rbac';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { readYamlUpload, yamlUploadBody } from '../../src/http/yaml';
import { invalid } from '../../src/errors';
import { formatPath, parseKind, validateYaml } from '../../src/services/yaml/kinds';
import {
  createConfigMap,
  createMount,
  createSecret,
  deleteConfigMap,
  deleteMount,
  deleteSecret,
  getConfigMap,
  getMount,
  getSecret,
  linkMount,
  listConfigMaps,
  listMounts,
  listSecrets,
  mountLinks,
  unlinkMount,
  updateConfigMap,
  updateMount,
  updateSecret,
} from '../../src/services/config/resources';
import {
  FogUuids,
  MapCreate,
  MapList,
  MapPatch,
  MapView,
  MountCreate,
  MountLinks,
  MountPatch,
  MountView,
  SecretCreate,
  SecretList,
  SecretPatch,
  SecretView,
} from '../../src/services/config/schemas';

const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { name: 'name', in: 'path' } }),
});

// ---- secrets ----

const secTag = ['Secrets'];
const secNf = { 404: errorResponse('No such secret', 404) };

export const listSecretsRoute = defineRoute(rbac('secrets', 'list'), {
  method: 'get',
  path: '/api/v3/secrets',
  tags: secTag,
  summary: 'List secrets (never their values)',
  responses: { 200: jsonOk('Secrets', SecretList) },
});
export const createSecretRoute = defineRoute(rbac('secrets', 'create'), {
  method: 'post',
  path: '/api/v3/secrets',
  tags: secTag,
  summary: 'Create a secret',
  description: 'Values are encrypted at rest. `tls` secrets take base64 values (400 names the keys that are not).',
  request: { body: jsonBody(SecretCreate) },
  responses: { 201: jsonOk('Created', SecretView), 409: errorResponse('Name in use', 409) },
});
export const createSecretYamlRoute = defineRoute(rbac('secrets', 'create'), {
  method: 'post',
  path: '/api/v3/secrets/yaml',
  tags: secTag,
  summary: 'Create a secret from YAML (kind: Secret)',
  description: '`spec.type` (or a top-level `type`) and a top-level `data` mapping.',
  request: { body: yamlUploadBody('secret') },
  responses: { 201: jsonOk('Created', SecretView), 409: errorResponse('Name in use', 409) },
});
export const getSecretRoute = defineRoute(rbac('secrets', REVEAL_VERB, 'name'), {
  method: 'get',
  path: '/api/v3/secrets/{name}',
  tags: secTag,
  summary: 'Get a secret with its values',
  request: { params: NameParam },
  responses: { 200: jsonOk('Secret', SecretView), ...secNf },
});
export const patchSecretRoute = defineRoute(rbac('secrets', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/secrets/{name}',
  tags: secTag,
  summary: 'Replace the values of a secret',
  description:
    '`type` may be omitted (the stored type stays); a different type is a 400. Volume mounts using the secret get a new version and their fogs reload them; microservices reading it through env are refreshed.',
  request: { params: NameParam, body: jsonBody(SecretPatch) },
  responses: { 200: jsonOk('Secret', SecretView), ...secNf },
});
export const patchSecretYamlRoute = defineRoute(rbac('secrets', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/secrets/yaml/{name}',
  tags: secTag,
  summary: 'Replace the values of a secret from YAML',
  request: { params: NameParam, body: yamlUploadBody('secret') },
  responses: { 200: jsonOk('Secret', SecretView), ...secNf },
});
export const deleteSecretRoute = defineRoute(rbac('secrets', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/secrets/{name}',
  tags: secTag,
  summary: 'Delete a secret',
  description: 'Refused (409) while a volume mount or a microservice env entry uses it.',
  request: { params: NameParam },
  responses: { 200: { description: 'Deleted (empty body)' }, ...secNf, 409: errorResponse('In use', 409) },
});

// ---- config maps ----

const mapTag = ['Config maps'];
const mapNf = { 404: errorResponse('No such config map', 404) };

export const listMapsRoute = defineRoute(rbac('configMaps', 'list'), {
  method: 'get',
  path: '/api/v3/configmaps',
  tags: mapTag,
  summary: 'List config maps (without data)',
  responses: { 200: jsonOk('Config maps', MapList) },
});
export const createMapRoute = defineRoute(rbac('configMaps', 'create'), {
  method: 'post',
  path: '/api/v3/configmaps',
  tags: mapTag,
  summary: 'Create a config map',
  description: '`useVault` is stored and reported; this Controller keeps the values itself (no external vault backend).',
  request: { body: jsonBody(MapCreate) },
  responses: { 201: jsonOk('Created', MapView), 409: errorResponse('Name in use', 409) },
});
export const createMapYamlRoute = defineRoute(rbac('configMaps', 'create'), {
  method: 'post',
  path: '/api/v3/configmaps/yaml',
  tags: mapTag,
  summary: 'Create a config map from YAML (kind: ConfigMap)',
  description: '`spec` (with `immutable`, optional `useVault`) is required; `data` is top-level.',
  request: { body: yamlUploadBody('configMap') },
  responses: { 201: jsonOk('Created', MapView), 409: errorResponse('Name in use', 409) },
});
export const getMapRoute = defineRoute(rbac('configMaps', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/configmaps/{name}',
  tags: mapTag,
  summary: 'Get a config map',
  request: { params: NameParam },
  responses: { 200: jsonOk('Config map', MapView), ...mapNf },
});
export const patchMapRoute = defineRoute(rbac('configMaps', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/configmaps/{name}',
  tags: mapTag,
  summary: 'Replace the data of a config map',
  description: 'An immutable config map cannot be changed (400).',
  request: { params: NameParam, body: jsonBody(MapPatch) },
  responses: { 200: jsonOk('Config map', MapView), ...mapNf },
});
export const patchMapYamlRoute = defineRoute(rbac('configMaps', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/configmaps/yaml/{name}',
  tags: mapTag,
  summary: 'Replace a config map from YAML',
  request: { params: NameParam, body: yamlUploadBody('configMap') },
  responses: { 200: jsonOk('Config map', MapView), ...mapNf },
});
export const deleteMapRoute = defineRoute(rbac('configMaps', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/configmaps/{name}',
  tags: mapTag,
  summary: 'Delete a config map',
  description: 'Refused (409) while a volume mount or a microservice env entry uses it.',
  request: { params: NameParam },
  responses: { 200: { description: 'Deleted (empty body)' }, ...mapNf, 409: errorResponse('In use', 409) },
});

// ---- volume mounts ----

const vmTag = ['Volume mounts'];
const vmNf = { 404: errorResponse('No such volume mount (or source, or fog)', 404) };

export const listMountsRoute = defineRoute(rbac('volumeMounts', 'list'), {
  method: 'get',
  path: '/api/v3/volumeMounts',
  tags: vmTag,
  summary: 'List volume mounts',
  responses: { 200: jsonOk('Volume mounts', z.array(MountView)) },
});
export const createMountRoute = defineRoute(liquidBody(rbac('volumeMounts', 'create')), {
  method: 'post',
  path: '/api/v3/volumeMounts',
  tags: vmTag,
  summary: 'Create a volume mount backed by one secret or config map',
  request: { body: jsonBody(MountCreate) },
  responses: { 200: jsonOk('Created', MountView), ...vmNf, 409: errorResponse('Name in use', 409) },
});
export const createMountYamlRoute = defineRoute(rbac('volumeMounts', 'create'), {
  method: 'post',
  path: '/api/v3/volumeMounts/yaml',
  tags: vmTag,
  summary: 'Create a volume mount from YAML (kind: VolumeMount)',
  request: { body: yamlUploadBody('volumeMount') },
  responses: { 200: jsonOk('Created', MountView), ...vmNf, 409: errorResponse('Name in use', 409) },
});
export const getMountRoute = defineRoute(rbac('volumeMounts', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/volumeMounts/{name}',
  tags: vmTag,
  summary: 'Get a volume mount',
  request: { params: NameParam },
  responses: { 200: jsonOk('Volume mount', MountView), ...vmNf },
});
export const patchMountRoute = defineRoute(liquidBody(rbac('volumeMounts', 'patch', 'name')), {
  method: 'patch',
  path: '/api/v3/volumeMounts/{name}',
  tags: vmTag,
  summary: 'Change the source of a volume mount',
  description: 'Bumps `version`; linked fogs reload their mounts. Renaming is refused (409) while microservices map the mount.',
  request: { params: NameParam, body: jsonBody(MountPatch) },
  responses: { 200: jsonOk('Volume mount', MountView), ...vmNf },
});
export const patchMountYamlRoute = defineRoute(rbac('volumeMounts', 'patch', 'name'), {
  method: 'patch',
  path: '/api/v3/volumeMounts/yaml/{name}',
  tags: vmTag,
  summary: 'Change a volume mount from YAML',
  request: { params: NameParam, body: yamlUploadBody('volumeMount') },
  responses: { 200: jsonOk('Volume mount', MountView), ...vmNf },
});
export const deleteMountRoute = defineRoute(rbac('volumeMounts', 'delete', 'name'), {
  method: 'delete',
  path: '/api/v3/volumeMounts/{name}',
  tags: vmTag,
  summary: 'Delete a volume mount',
  description: 'Linked fogs drop it. Refused (409) while microservices map it.',
  request: { params: NameParam },
  responses: { 202: { description: 'Deleted (empty body)' }, ...vmNf, 409: errorResponse('Mapped by microservices', 409) },
});
export const getLinksRoute = defineRoute(rbac('volumeMounts', 'get', 'name'), {
  method: 'get',
  path: '/api/v3/volumeMounts/{name}/link',
  tags: vmTag,
  summary: 'Fogs the volume mount is linked to',
  request: { params: NameParam },
  responses: { 200: jsonOk('Linked fogs', MountLinks), ...vmNf },
});
export const linkRoute = defineRoute(rbac('volumeMounts', 'patch', 'name'), {
  method: 'post',
  path: '/api/v3/volumeMounts/{name}/link',
  tags: vmTag,
  summary: 'Link a volume mount to fogs',
  description: 'Idempotent; newly linked fogs get the `volumeMounts` change flag.',
  request: { params: NameParam, body: jsonBody(FogUuids) },
  responses: { 200: jsonOk('Volume mount', MountView), ...vmNf },
});
export const unlinkRoute = defineRoute(rbac('volumeMounts', 'patch', 'name'), {
  method: 'delete',
  path: '/api/v3/volumeMounts/{name}/link',
  tags: vmTag,
  summary: 'Unlink a volume mount from fogs (JSON body)',
  description:
    'Fogs that were not linked are ignored; unlinked fogs get the `volumeMounts` flag. Refused (409) for a fog whose microservices map the mount.',
  request: { params: NameParam, body: jsonBody(FogUuids) },
  responses: { 200: jsonOk('Volume mount', MountView), ...vmNf, 409: errorResponse('Mapped on that fog', 409) },
});

// ---- YAML kinds: Secret, ConfigMap, VolumeMount ----

const yamlPathOf = (p: PropertyKey[]) => (p[0] === 'name' ? 'metadata.name' : p[0] === 'data' ? formatPath(p) : `spec.${formatPath(p)}`);

function secretYaml(text: string) {
  const { name, spec, doc } = parseKind(text, 'Secret');
  // Upstream reads the type from spec.type but insists on a top-level `type`; accept either.
  const type = spec.type ?? doc.type;
  const data = doc.data ?? spec.data;
  return validateYaml(SecretCreate, { name, type, data }, (p) => (p[0] === 'type' ? 'spec.type' : yamlPathOf(p)));
}
function configMapYaml(text: string) {
  const { name, doc } = parseKind(text, 'ConfigMap');
  if (doc.spec === undefined || doc.spec === null) throw invalid('spec: required (with spec.immutable)');
  const spec = doc.spec as Record<string, unknown>;
  return validateYaml(
    MapCreate,
    {
      name,
      data: doc.data ?? {},
      ...(spec.immutable !== undefined ? { immutable: spec.immutable } : {}),
      ...(spec.useVault !== undefined ? { useVault: spec.useVault } : {}),
    },
    yamlPathOf,
  );
}
function mountYaml(text: string) {
  const { name, spec } = parseKind(text, 'VolumeMount');
  return validateYaml(MountCreate, { name, ...spec }, yamlPathOf);
}
function samePathName(yamlName: string, pathName: string) {
  if (yamlName !== pathName) throw invalid(`metadata.name: must equal the name in the path (${pathName})`);
}

export function registerResources(app: App): void {
  app.openapi(listSecretsRoute, async (c) => c.json(await listSecrets(c.get('ctx')), 200));
  app.openapi(createSecretRoute, async (c) => c.json(await createSecret(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(createSecretYamlRoute, async (c) =>
    c.json(await createSecret(c.get('ctx'), secretYaml(await readYamlUpload(c, 'secret'))), 201),
  );
  app.openapi(getSecretRoute, async (c) => c.json(await getSecret(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(patchSecretRoute, async (c) => {
    const { data, type, name } = c.req.valid('json');
    return c.json(await updateSecret(c.get('ctx'), c.req.valid('param').name, { data, type, name }), 200);
  });
  app.openapi(patchSecretYamlRoute, async (c) => {
    const input = secretYaml(await readYamlUpload(c, 'secret'));
    samePathName(input.name, c.req.valid('param').name);
    return c.json(await updateSecret(c.get('ctx'), input.name, { data: input.data, type: input.type }), 200);
  });
  app.openapi(deleteSecretRoute, async (c) => {
    await deleteSecret(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 200);
  });

  app.openapi(listMapsRoute, async (c) => c.json(await listConfigMaps(c.get('ctx')), 200));
  app.openapi(createMapRoute, async (c) => c.json(await createConfigMap(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(createMapYamlRoute, async (c) =>
    c.json(await createConfigMap(c.get('ctx'), configMapYaml(await readYamlUpload(c, 'configMap'))), 201),
  );
  app.openapi(getMapRoute, async (c) => c.json(await getConfigMap(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(patchMapRoute, async (c) => {
    const { data, immutable, useVault, name } = c.req.valid('json');
    return c.json(await updateConfigMap(c.get('ctx'), c.req.valid('param').name, { data, immutable, useVault, name }), 200);
  });
  app.openapi(patchMapYamlRoute, async (c) => {
    const { name, ...input } = configMapYaml(await readYamlUpload(c, 'configMap'));
    samePathName(name, c.req.valid('param').name);
    return c.json(await updateConfigMap(c.get('ctx'), name, input), 200);
  });
  app.openapi(deleteMapRoute, async (c) => {
    await deleteConfigMap(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 200);
  });

  app.openapi(listMountsRoute, async (c) => c.json(await listMounts(c.get('ctx')), 200));
  app.openapi(createMountRoute, async (c) => c.json(await createMount(c.get('ctx'), c.req.valid('json')), 200));
  app.openapi(createMountYamlRoute, async (c) =>
    c.json(await createMount(c.get('ctx'), mountYaml(await readYamlUpload(c, 'volumeMount'))), 200),
  );
  app.openapi(getMountRoute, async (c) => c.json(await getMount(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(patchMountRoute, async (c) => {
    const { name, secretName, configMapName } = c.req.valid('json');
    return c.json(await updateMount(c.get('ctx'), c.req.valid('param').name, { name, secretName, configMapName }), 200);
  });
  app.openapi(patchMountYamlRoute, async (c) => {
    const { name, ...source } = mountYaml(await readYamlUpload(c, 'volumeMount'));
    samePathName(name, c.req.valid('param').name);
    return c.json(await updateMount(c.get('ctx'), name, source), 200);
  });
  app.openapi(deleteMountRoute, async (c) => {
    await deleteMount(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 202);
  });
  app.openapi(getLinksRoute, async (c) => c.json(await mountLinks(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(linkRoute, async (c) => c.json(await linkMount(c.get('ctx'), c.req.valid('param').name, c.req.valid('json').fogUuids), 200));
  app.openapi(unlinkRoute, async (c) =>
    c.json(await unlinkMount(c.get('ctx'), c.req.valid('param').name, c.req.valid('json').fogUuids), 200),
  );
}
