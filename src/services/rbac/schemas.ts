import { z } from '@hono/zod-openapi';
import { safeName } from '../../http/names';
import { readOnly } from '../shared/read-only';

/** The wire contract of roles, role bindings and service accounts (Kubernetes-style RBAC objects). */

/** The DNS-subdomain name rule of RBAC objects. */
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const Name = safeName(255).regex(NAME_RE, 'must be lower-case letters, digits, "-" and "." (DNS subdomain style)');

export const Rule = z
  .strictObject({
    apiGroups: z
      .array(z.string().max(255))
      .min(1)
      .max(16)
      .openapi({ description: '"" is the Controller API; edgelet.iofog.org/v1 the Edgelet local API' }),
    resources: z.array(z.string().min(1).max(128)).min(1).max(64),
    verbs: z
      .array(z.enum(['get', 'list', 'create', 'update', 'patch', 'delete', '*']))
      .min(1)
      .max(7),
    resourceNames: z.array(z.string().min(1).max(255)).max(256).optional(),
  })
  .openapi('RbacRule');
const Rules = z.array(Rule).min(1).max(100);
export const RoleRef = z
  .strictObject({ kind: z.literal('Role').default('Role'), name: Name, apiGroup: z.string().max(255).optional() })
  .openapi('RoleRef');
export const Subject = z
  .strictObject({ kind: z.enum(['User', 'Group', 'ServiceAccount']), name: safeName(320), apiGroup: z.string().max(255).optional() })
  .openapi('Subject');
export type RoleRef = z.infer<typeof RoleRef>;
export type Subject = z.infer<typeof Subject>;

/** What every object's GET carries beyond the editable fields; an update takes them back and ignores them. */
const readOnlyMeta = {
  id: readOnly(z.number().nullable()),
  apiVersion: readOnly(z.string()),
  createdAt: readOnly(z.string().nullable()),
  updatedAt: readOnly(z.string().nullable()),
};
const pathName = Name.optional().openapi({ description: 'When sent, must equal the name in the path (no renames)' });

export const RoleCreate = z.strictObject({ name: Name, kind: z.literal('Role').optional(), rules: Rules }).openapi('RoleCreate');
export const RolePatch = z
  .strictObject({ name: pathName, kind: z.literal('Role').optional(), rules: Rules, isSystem: readOnly(z.boolean()), ...readOnlyMeta })
  .openapi('RolePatch');
export const BindingCreate = z
  .strictObject({ name: Name, kind: z.literal('RoleBinding').optional(), roleRef: RoleRef, subjects: z.array(Subject).min(1).max(256) })
  .openapi('RoleBindingCreate');
export const BindingPatch = z
  .strictObject({
    name: pathName,
    kind: z.literal('RoleBinding').optional(),
    roleRef: RoleRef,
    subjects: z.array(Subject).min(1).max(256),
    ...readOnlyMeta,
  })
  .openapi('RoleBindingPatch');
export const AccountCreate = z.strictObject({ name: Name, applicationName: Name, roleRef: RoleRef }).openapi('ServiceAccountCreate');
export const AccountPatch = z
  .strictObject({
    name: pathName,
    kind: z.literal('ServiceAccount').optional(),
    applicationName: Name.optional().openapi({ description: 'When sent, must equal the application in the path' }),
    roleRef: RoleRef,
    ...readOnlyMeta,
  })
  .openapi('ServiceAccountPatch');
export type RoleInput = z.infer<typeof RoleCreate>;
export type RoleUpdate = Pick<z.infer<typeof RolePatch>, 'name' | 'rules'>;
export type BindingInput = z.infer<typeof BindingCreate>;
export type BindingUpdate = Pick<z.infer<typeof BindingPatch>, 'name' | 'roleRef' | 'subjects'>;
export type AccountInput = z.infer<typeof AccountCreate>;
export type AccountUpdate = Pick<z.infer<typeof AccountPatch>, 'name' | 'applicationName' | 'roleRef'>;

const stamp = { createdAt: z.string().nullable(), updatedAt: z.string().nullable() };
export const RoleView = z
  .object({
    id: z.number().nullable().openapi({ description: 'null for the built-in system roles' }),
    apiVersion: z.string(),
    kind: z.literal('Role'),
    name: z.string(),
    isSystem: z.boolean(),
    rules: z.array(
      z.object({
        apiGroups: z.array(z.string()),
        resources: z.array(z.string()),
        verbs: z.array(z.string()),
        resourceNames: z.array(z.string()),
      }),
    ),
    ...stamp,
  })
  .openapi('Role');
export const BindingView = z
  .object({
    id: z.number(),
    apiVersion: z.string(),
    kind: z.literal('RoleBinding'),
    name: z.string(),
    roleRef: RoleRef,
    subjects: z.array(Subject),
    ...stamp,
  })
  .openapi('RoleBinding');
export const AccountView = z
  .object({
    id: z.number(),
    apiVersion: z.string(),
    kind: z.literal('ServiceAccount'),
    name: z.string(),
    applicationName: z.string(),
    roleRef: RoleRef,
    ...stamp,
  })
  .openapi('ServiceAccount');
export type RoleViewT = z.infer<typeof RoleView>;
export type BindingViewT = z.infer<typeof BindingView>;
export type AccountViewT = z.infer<typeof AccountView>;
