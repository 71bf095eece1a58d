import { z } from '@hono/zod-openapi';
import { defineRoute, liquidBody, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { createCatalogItem, deleteCatalogItem, getCatalogItem, listCatalog, updateCatalogItem } from '../../src/services/catalog/catalog';
import { createRegistry, deleteRegistry, getRegistry, listRegistries, updateRegistry } from '../../src/services/catalog/registries';
import {
  CatalogItemCreate,
  CatalogItemCreated,
  CatalogItemList,
  CatalogItemResponse,
  CatalogItemUpdate,
  RegistryCreate,
  RegistryCreated,
  RegistryList,
  RegistryResponse,
  RegistryUpdate,
} from '../../src/services/catalog/schemas';

const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const regTag = ['Registries'];
const regNf = { 404: errorResponse('No such registry', 404) };

export const listRegistriesRoute = defineRoute(rbac('registries', 'list'), {
  method: 'get',
  path: '/api/v3/registries',
  tags: regTag,
  summary: 'List registries (passwords are never returned)',
  responses: { 200: jsonOk('Registries', RegistryList) },
});
export const createRegistryRoute = defineRoute(liquidBody(rbac('registries', 'create')), {
  method: 'post',
  path: '/api/v3/registries',
  tags: regTag,
  summary: 'Create a registry',
  description: 'The password is stored encrypted. Every agent is told to reload its registries (asynchronously, through the outbox).',
  request: { body: jsonBody(RegistryCreate) },
  responses: { 201: jsonOk('Created', RegistryCreated) },
});
export const getRegistryRoute = defineRoute(rbac('registries', 'get', 'id'), {
  method: 'get',
  path: '/api/v3/registries/{id}',
  tags: regTag,
  summary: 'Get a registry',
  request: { params: IdParam },
  responses: { 200: jsonOk('Registry', RegistryResponse), ...regNf },
});
export const patchRegistryRoute = defineRoute(liquidBody(rbac('registries', 'patch', 'id')), {
  method: 'patch',
  path: '/api/v3/registries/{id}',
  tags: regTag,
  summary: 'Update a registry',
  description: 'Microservices pulling from it are rebuilt; every agent reloads its registries.',
  request: { params: IdParam, body: jsonBody(RegistryUpdate) },
  responses: { 204: { description: 'Updated' }, ...regNf },
});
export const deleteRegistryRoute = defineRoute(rbac('registries', 'delete', 'id'), {
  method: 'delete',
  path: '/api/v3/registries/{id}',
  tags: regTag,
  summary: 'Delete a registry',
  description: 'Registries 1 (docker.io) and 2 (local cache) are built in; a registry in use cannot be deleted (400).',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...regNf },
});

const catTag = ['Catalog'];
const catNf = { 404: errorResponse('No such catalog item', 404) };

export const listCatalogRoute = defineRoute(rbac('catalog', 'list'), {
  method: 'get',
  path: '/api/v3/catalog/microservices',
  tags: catTag,
  summary: 'List catalog items',
  responses: { 200: jsonOk('Items', CatalogItemList) },
});
export const createCatalogRoute = defineRoute(liquidBody(rbac('catalog', 'create')), {
  method: 'post',
  path: '/api/v3/catalog/microservices',
  tags: catTag,
  summary: 'Create a catalog item',
  request: { body: jsonBody(CatalogItemCreate) },
  responses: { 201: jsonOk('Created', CatalogItemCreated), 409: errorResponse('Name in use', 409) },
});
export const getCatalogRoute = defineRoute(rbac('catalog', 'get', 'id'), {
  method: 'get',
  path: '/api/v3/catalog/microservices/{id}',
  tags: catTag,
  summary: 'Get a catalog item',
  request: { params: IdParam },
  responses: { 200: jsonOk('Item', CatalogItemResponse), ...catNf },
});
export const patchCatalogRoute = defineRoute(liquidBody(rbac('catalog', 'patch', 'id')), {
  method: 'patch',
  path: '/api/v3/catalog/microservices/{id}',
  tags: catTag,
  summary: 'Update a catalog item',
  description: 'Image or registry changes rebuild the microservices made from the item (asynchronously, through the outbox).',
  request: { params: IdParam, body: jsonBody(CatalogItemUpdate) },
  responses: { 204: { description: 'Updated' }, ...catNf, 409: errorResponse('Name in use', 409) },
});
export const deleteCatalogRoute = defineRoute(rbac('catalog', 'delete', 'id'), {
  method: 'delete',
  path: '/api/v3/catalog/microservices/{id}',
  tags: catTag,
  summary: 'Delete a catalog item',
  description: 'SYSTEM items and items in use cannot be deleted (400).',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...catNf },
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
