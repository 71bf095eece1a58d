import { z } from '@hono/zod-openapi';
import { defineRoute, embeddedOnly, rbac } from '../../src/http/route';
import type { App } from '../../src/http/types';
import { jsonBody, jsonOk } from '../../src/http/openapi';
import { samePathName } from '../../src/services/shared/read-only';
import { errorResponse } from '../../src/http/errors';
import { createUser, deleteUser, getUser, issueResetToken, listUsers, resetPassword, updateUser } from '../../src/services/auth/admin';

const tag = ['Users'];

export { AuthUser as AuthUserSchema, CreateUserBody, UpdateUserBody } from '../../src/services/auth/schemas';
import { AuthUser as AuthUserSchema, CreateUserBody, UpdateUserBody } from '../../src/services/auth/schemas';

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const notFound = { 404: errorResponse('No such user', 404) };

export const listUsersRoute = defineRoute(embeddedOnly(rbac('authUsers', 'list')), {
  method: 'get',
  path: '/api/v3/users',
  tags: tag,
  summary: 'List users',
  responses: { 200: jsonOk('Users', z.array(AuthUserSchema)) },
});

export const createUserRoute = defineRoute(embeddedOnly(rbac('authUsers', 'create')), {
  method: 'post',
  path: '/api/v3/users',
  tags: tag,
  summary: 'Create a user',
  description: 'The user must change the password at first login. Groups must exist; system groups grant the role of the same name.',
  request: { body: jsonBody(CreateUserBody) },
  responses: { 201: jsonOk('Created', AuthUserSchema), 409: errorResponse('Email already in use', 409) },
});

export const getUserRoute = defineRoute(embeddedOnly(rbac('authUsers', 'get', 'id')), {
  method: 'get',
  path: '/api/v3/users/{id}',
  tags: tag,
  summary: 'Get a user',
  request: { params: IdParam },
  responses: { 200: jsonOk('User', AuthUserSchema), ...notFound },
});

export const updateUserRoute = defineRoute(embeddedOnly(rbac('authUsers', 'patch', 'id')), {
  method: 'patch',
  path: '/api/v3/users/{id}',
  tags: tag,
  summary: 'Update email or groups',
  description: '`groups` replaces the membership. Takes effect in tokens issued afterwards (next login or refresh).',
  request: { params: IdParam, body: jsonBody(UpdateUserBody) },
  responses: { 200: jsonOk('Updated', AuthUserSchema), ...notFound, 409: errorResponse('Email already in use', 409) },
});

export const deleteUserRoute = defineRoute(embeddedOnly(rbac('authUsers', 'delete', 'id')), {
  method: 'delete',
  path: '/api/v3/users/{id}',
  tags: tag,
  summary: 'Delete a user',
  description:
    'Soft delete: the row stays for audit, the email becomes free, refresh tokens are revoked. The bootstrap admin cannot be deleted.',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...notFound },
});

export const resetPasswordRoute = defineRoute(embeddedOnly(rbac('authUsers', 'patch', 'id')), {
  method: 'post',
  path: '/api/v3/users/{id}/reset-password',
  tags: tag,
  summary: 'Set a temporary password',
  description: 'Generates a temporary password the user must change at next login; signs out the user.',
  request: { params: IdParam },
  responses: {
    200: jsonOk('Temporary password', z.object({ temporaryPassword: z.string(), mustChangePassword: z.literal(true) })),
    ...notFound,
  },
});

export const resetTokenRoute = defineRoute(embeddedOnly(rbac('authUsers', 'patch', 'id')), {
  method: 'post',
  path: '/api/v3/users/{id}/reset-token',
  tags: tag,
  summary: 'Issue a one-time password reset token',
  description:
    'The user sets a new password with POST /user/change-password {resetToken, newPassword}, without logging in. Valid 1 h, once; a new token voids older ones.',
  request: { params: IdParam },
  responses: {
    200: jsonOk('Reset token', z.object({ resetToken: z.string(), expiresIn: z.number().openapi({ description: 'seconds' }) })),
    ...notFound,
  },
});

export function registerUsers(app: App): void {
  app.openapi(resetTokenRoute, async (c) => c.json(await issueResetToken(c.get('ctx'), c.req.valid('param').id), 200));
  app.openapi(listUsersRoute, async (c) => c.json(await listUsers(c.get('ctx')), 200));
  app.openapi(createUserRoute, async (c) => c.json(await createUser(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(getUserRoute, async (c) => c.json(await getUser(c.get('ctx'), c.req.valid('param').id), 200));
  app.openapi(updateUserRoute, async (c) => {
    const { id, email, groups } = c.req.valid('json');
    samePathName('id', id, c.req.valid('param').id);
    return c.json(await updateUser(c.get('ctx'), c.req.valid('param').id, { email, groups }), 200);
  });
  app.openapi(deleteUserRoute, async (c) => {
    await deleteUser(c.get('ctx'), c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(resetPasswordRoute, async (c) => c.json(await resetPassword(c.get('ctx'), c.req.valid('param').id), 200));
}
