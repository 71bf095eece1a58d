import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import { safeName } from '../../src/http/names';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { createCatalogItem, deleteCatalogItem, getCatalogItem, listCatalog, updateCatalogItem } from '../../src/services/catalog/catalog';
import { createRegistry, deleteRegistry, getRegistry, listRegistries, updateRegistry } from '../../src/services/catalog/registries';
import { ImageSchema } from '../microservices/schemas';

const IdParam = z.object({ id: z.coerce.number().int().min(1).openapi({ param: { name: 'id', in: 'path' } }) });

export const RegistrySchema = z.object({ id: z.number(), url: z.string(), isPublic: z.boolean(), username: z.string(), userEmail: z.string() }).openapi('Registry');
const RegistryFields = z.object({
  url: z.string().min(1).max(1024),
  isPublic: z.boolean(),
  username: z.string().max(255),
  password: z.string().max(4096),
  email: z.string().max(320).regex(/^$|^[^\s@]+@[^\s@]+$/, 'must be an email address'),
});
const regTag = ['Registries'];
const regNf = { 404: errorResponse('No such registry', 404) };

export const listRegistriesRoute = defineRoute(rbac('registries', 'list'), {
  method: 'get', path: '/api/v3/registries', tags: regTag, summary: 'List registries (passwords are never returned)',
  responses: { 200: jsonOk('Registries', z.object({ registries: z.array(RegistrySchema) })) },
});
export const createRegistryRoute = defineRoute(liquidBody(rbac('registries', 'create')), {
  method: 'post', path: '/api/v3/registries', tags: regTag, summary: 'Create a registry',
  description: 'The password is stored encrypted. Every agent is told to reload its registries (asynchronously, through the outbox).',
  request: { body: jsonBody(RegistryFields.openapi('RegistryCreate')) },
  responses: { 201: jsonOk('Created', z.object({ id: z.number() })) },
});
export const getRegistryRoute = defineRoute(rbac('registries', 'get', 'id'), {
  method: 'get', path: '/api/v3/registries/{id}', tags: regTag, summary: 'Get a registry',
  request: { params: IdParam }, responses: { 200: jsonOk('Registry', RegistrySchema), ...regNf },
});
export const patchRegistryRoute = defineRoute(liquidBody(rbac('registries', 'patch', 'id')), {
  method: 'patch', path: '/api/v3/registries/{id}', tags: regTag, summary: 'Update a registry',
  description: 'Microservices pulling from it are rebuilt; every agent reloads its registries.',
  request: { params: IdParam, body: jsonBody(RegistryFields.partial().openapi('RegistryUpdate')) }, responses: { 204: { description: 'Updated' }, ...regNf },
});
export const deleteRegistryRoute = defineRoute(rbac('registries', 'delete', 'id'), {
  method: 'delete', path: '/api/v3/registries/{id}', tags: regTag, summary: 'Delete a registry',
  description: 'Registries 1 (docker.io) and 2 (local cache) are built in; a registry in use cannot be deleted (400).',
  request: { params: IdParam }, responses: { 204: { description: 'Deleted' }, ...regNf },
});

const Io = z.object({ infoType: z.string().max(255), infoFormat: z.string().max(255) });
const CatalogFields = z.object({
  name: safeName(255),
  description: z.string().max(10_000),
  category: z.string().max(255),
  publisher: z.string().max(255),
  picture: z.string().max(10_000),
  configExample: z.string().max(100_000),
  diskRequired: z.number().int().min(0),
  ramRequired: z.number().int().min(0),
  isPublic: z.boolean(),
  registryId: z.number().int().min(1),
  images: z.array(ImageSchema).min(1).max(4),
  inputType: Io,
  outputType: Io,
});
export const CatalogItemSchema = z.record(z.string(), z.unknown()).openapi('CatalogItem');
const catTag = ['Catalog'];
const catNf = { 404: errorResponse('No such catalog item', 404) };

export const listCatalogRoute = defineRoute(rbac('catalog', 'list'), {
  method: 'get', path: '/api/v3/catalog/microservices', tags: catTag, summary: 'List catalog items',
  responses: { 200: jsonOk('Items', z.object({ catalogItems: z.array(CatalogItemSchema) })) },
});
export const createCatalogRoute = defineRoute(liquidBody(rbac('catalog', 'create')), {
  method: 'post', path: '/api/v3/catalog/microservices', tags: catTag, summary: 'Create a catalog item',
  request: { body: jsonBody(CatalogFields.partial().required({ name: true, registryId: true, images: true }).openapi('CatalogItemCreate')) },
  responses: { 201: jsonOk('Created', z.object({ id: z.number() })), 409: errorResponse('Name in use', 409) },
});
export const getCatalogRoute = defineRoute(rbac('catalog', 'get', 'id'), {
  method: 'get', path: '/api/v3/catalog/microservices/{id}', tags: catTag, summary: 'Get a catalog item',
  request: { params: IdParam }, responses: { 200: jsonOk('Item', CatalogItemSchema), ...catNf },
});
export const patchCatalogRoute = defineRoute(liquidBody(rbac('catalog', 'patch', 'id')), {
  method: 'patch', path: '/api/v3/catalog/microservices/{id}', tags: catTag, summary: 'Update a catalog item',
  description: 'Image or registry changes rebuild the microservices made from the item (asynchronously, through the outbox).',
  request: { params: IdParam, body: jsonBody(CatalogFields.partial().openapi('CatalogItemUpdate')) },
  responses: { 204: { description: 'Updated' }, ...catNf, 409: errorResponse('Name in use', 409) },
});
export const deleteCatalogRoute = defineRoute(rbac('catalog', 'delete', 'id'), {
  method: 'delete', path: '/api/v3/catalog/microservices/{id}', tags: catTag, summary: 'Delete a catalog item',
  description: 'SYSTEM items and items in use cannot be deleted (400).',
  request: { params: IdParam }, responses: { 204: { description: 'Deleted' }, ...catNf },
});

export function registerCatalog(app: App): void {
  app.openapi(listRegistriesRoute, async (c) => c.json({ registries: await listRegistries(c.get('ctx')) }, 200));
  app.openapi(createRegistryRoute, async (c) => c.json(await createRegistry(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(getRegistryRoute, async (c) => c.json(await getRegistry(c.get('ctx'), c.req.valid('param').id), 200));
  app.openapi(patchRegistryRoute, async (c) => {
    await updateRegistry(c.get('ctx'), c.req.valid('param').id, c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(deleteRegistryRoute, async (c) => {
    await deleteRegistry(c.get('ctx'), c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(listCatalogRoute, async (c) => c.json({ catalogItems: await listCatalog(c.get('ctx')) }, 200));
  app.openapi(createCatalogRoute, async (c) => c.json(await createCatalogItem(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(getCatalogRoute, async (c) => c.json(await getCatalogItem(c.get('ctx'), c.req.valid('param').id), 200));
  app.openapi(patchCatalogRoute, async (c) => {
    await updateCatalogItem(c.get('ctx'), c.req.valid('param').id, c.req.valid('json'));
    return c.body(null, 204);
  });
  app.openapi(deleteCatalogRoute, async (c) => {
    await deleteCatalogItem(c.get('ctx'), c.req.valid('param').id);
    return c.body(null, 204);
  });
}
