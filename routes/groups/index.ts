import { z } from '@hono/zod-openapi';
import { defineRoute, embeddedOnly, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { errorResponse } from '../../src/http/errors';
import { createGroup, deleteGroup, getGroup, listGroups, updateGroup } from '../../src/services/auth/admin';

const tag = ['Groups'];

export { AuthGroup as AuthGroupSchema } from '../../src/services/auth/schemas';
import { AuthGroup as AuthGroupSchema, CreateGroupBody, UpdateGroupBody } from '../../src/services/auth/schemas';

const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'name', in: 'path' } }),
});
const notFound = { 404: errorResponse('No such group', 404) };

export const listGroupsRoute = defineRoute(embeddedOnly(rbac('authGroups', 'list')), {
  method: 'get',
  path: '/api/v3/groups',
  tags: tag,
  summary: 'List groups',
  responses: { 200: jsonOk('Groups', z.array(AuthGroupSchema)) },
});

export const createGroupRoute = defineRoute(embeddedOnly(rbac('authGroups', 'create')), {
  method: 'post',
  path: '/api/v3/groups',
  tags: tag,
  summary: 'Create a group',
  request: { body: jsonBody(CreateGroupBody) },
  responses: { 201: jsonOk('Created', AuthGroupSchema), 409: errorResponse('Name already in use', 409) },
});

export const getGroupRoute = defineRoute(embeddedOnly(rbac('authGroups', 'get', 'name')), {
  method: 'get',
  path: '/api/v3/groups/{name}',
  tags: tag,
  summary: 'Get a group',
  request: { params: NameParam },
  responses: { 200: jsonOk('Group', AuthGroupSchema), ...notFound },
});

export const updateGroupRoute = defineRoute(embeddedOnly(rbac('authGroups', 'patch', 'name')), {
  method: 'patch',
  path: '/api/v3/groups/{name}',
  tags: tag,
  summary: 'Rename a group or toggle mfaRequired',
  description: 'System groups (admin, sre, developer, viewer) accept only `mfaRequired`.',
  request: {
    params: NameParam,
    body: jsonBody(UpdateGroupBody),
  },
  responses: { 200: jsonOk('Updated', AuthGroupSchema), ...notFound, 409: errorResponse('Name already in use', 409) },
});

export const deleteGroupRoute = defineRoute(embeddedOnly(rbac('authGroups', 'delete', 'name')), {
  method: 'delete',
  path: '/api/v3/groups/{name}',
  tags: tag,
  summary: 'Delete a custom group',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...notFound },
});

export function registerGroups(app: App): void {
  app.openapi(listGroupsRoute, async (c) => c.json(await listGroups(c.get('ctx')), 200));
  app.openapi(createGroupRoute, async (c) => c.json(await createGroup(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(getGroupRoute, async (c) => c.json(await getGroup(c.get('ctx'), c.req.valid('param').name), 200));
  app.openapi(updateGroupRoute, async (c) => {
    const { name, mfaRequired } = c.req.valid('json');
    return c.json(await updateGroup(c.get('ctx'), c.req.valid('param').name, { name, mfaRequired }), 200);
  });
  app.openapi(deleteGroupRoute, async (c) => {
    await deleteGroup(c.get('ctx'), c.req.valid('param').name);
    return c.body(null, 204);
  });
}
