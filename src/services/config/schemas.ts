import { z } from '@hono/zod-openapi';
import { readOnly } from '../shared/read-only';

/** The wire contract of secrets, config maps and volume mounts. */

import { ObjectName } from '../../http/names';

export { ObjectName };
/** Keys become file names in the container (volume mounts) — the Kubernetes rule for data keys. */
const DATA_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
export const Data = z
  .record(z.string(), z.string().max(1_048_576))
  .superRefine((d, ctx) => {
    const keys = Object.keys(d);
    if (keys.length > 256) ctx.addIssue({ code: 'custom', message: 'at most 256 keys' });
    for (const k of keys) {
      if (!DATA_KEY.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'keys must be 1-253 letters, digits, "-", "_" and "."' });
    }
  })
  .openapi({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'The values by key (a key is the file name when the object is mounted)',
  });
export const SecretType = z.enum(['Opaque', 'tls']);
const stamps = { created_at: z.string().openapi({ format: 'date-time' }), updated_at: z.string().openapi({ format: 'date-time' }) };
/** What a GET carries beyond the editable fields; an update takes them back and ignores them. */
const stampsIn = { created_at: readOnly(z.string()), updated_at: readOnly(z.string()) };
const pathName = z.string().optional().openapi({ description: 'When sent, must equal the name in the path (no renames)' });

// ---- secrets ----

export const SecretCreate = z.strictObject({ name: ObjectName, type: SecretType, data: Data }).openapi('SecretCreate');
export const SecretPatch = z
  .strictObject({ data: Data, type: SecretType.optional(), name: pathName, id: readOnly(z.number()), ...stampsIn })
  .openapi('SecretPatch');
/** What a secret or config map holds: values by key, as the keys are the user's own. */
const DataValues = z
  .record(z.string(), z.string())
  .openapi({ description: 'The values by key (a key is the file name when the object is mounted)' });
export const SecretView = z.object({ id: z.number(), name: z.string(), type: SecretType, data: DataValues, ...stamps }).openapi('Secret');
export const SecretSummary = z.object({ id: z.number(), name: z.string(), type: SecretType, ...stamps }).openapi('SecretSummary');
export const SecretList = z.object({ secrets: z.array(SecretSummary) }).openapi('SecretList');
export type SecretInput = z.infer<typeof SecretCreate>;
export type SecretUpdate = Pick<z.infer<typeof SecretPatch>, 'data' | 'type' | 'name'>;
export type SecretViewT = z.infer<typeof SecretView>;
export type SecretListT = z.infer<typeof SecretList>;

// ---- config maps ----

export const MapCreate = z
  .strictObject({ name: ObjectName, data: Data, immutable: z.boolean().optional(), useVault: z.boolean().optional() })
  .openapi('ConfigMapCreate');
export const MapPatch = z
  .strictObject({
    data: Data,
    immutable: z.boolean().optional(),
    useVault: z.boolean().optional(),
    name: pathName,
    id: readOnly(z.number()),
    ...stampsIn,
  })
  .openapi('ConfigMapPatch');
export const MapView = z
  .object({ id: z.number(), name: z.string(), immutable: z.boolean(), useVault: z.boolean(), data: DataValues, ...stamps })
  .openapi('ConfigMap');
export const MapSummary = z
  .object({ id: z.number(), name: z.string(), immutable: z.boolean(), useVault: z.boolean(), ...stamps })
  .openapi('ConfigMapSummary');
export const MapList = z.object({ configMaps: z.array(MapSummary) }).openapi('ConfigMapList');
export type MapInput = z.infer<typeof MapCreate>;
export type MapUpdate = Pick<z.infer<typeof MapPatch>, 'data' | 'immutable' | 'useVault' | 'name'>;
export type MapViewT = z.infer<typeof MapView>;
export type MapListT = z.infer<typeof MapList>;

// ---- volume mounts ----

export const MountName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-"');
const Source = { secretName: ObjectName.optional(), configMapName: ObjectName.optional() };
export const MountCreate = z.strictObject({ name: MountName, ...Source }).openapi('VolumeMountCreate');
export const MountPatch = z
  .strictObject({
    name: MountName.optional().openapi({ description: 'A different name renames the mount' }),
    ...Source,
    uuid: readOnly(z.string()),
    version: readOnly(z.number()),
    ...stampsIn,
  })
  .openapi('VolumeMountPatch');
export const MountView = z
  .object({
    uuid: z.string(),
    name: z.string(),
    secretName: z.string().optional(),
    configMapName: z.string().optional(),
    version: z.number().int(),
    ...stamps,
  })
  .openapi('VolumeMount');
export const MountLinks = z.object({ fogUuids: z.array(z.string()) }).openapi('VolumeMountLinks');
export const FogUuids = z.strictObject({ fogUuids: z.array(z.string().min(1).max(64)).min(1).max(10_000) }).openapi('VolumeMountLink');
export type MountInput = z.infer<typeof MountCreate>;
export type MountSource = Pick<MountInput, 'secretName' | 'configMapName'>;
export type MountUpdate = Pick<z.infer<typeof MountPatch>, 'name' | 'secretName' | 'configMapName'>;
export type MountViewT = z.infer<typeof MountView>;

// ---- operator settings (/config) ----

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
export const SettingKey = z
  .string()
  .min(1)
  .max(255)
  .regex(KEY_RE, 'must start with a letter or digit and use letters, digits, ".", "_", ":", "/" or "-"');
export const Setting = z.object({ key: z.string(), value: z.string() }).openapi('ConfigEntry');
/** PUT takes exactly what GET /config/{key} answers. */
export const SettingPut = z.strictObject({ key: SettingKey, value: z.string().max(65_536) }).openapi('ConfigPut');
export const SettingList = z.object({ config: z.array(Setting) }).openapi('ConfigList');
export type SettingT = z.infer<typeof Setting>;
export type SettingListT = z.infer<typeof SettingList>;
