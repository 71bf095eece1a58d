import { z } from '@hono/zod-openapi';
import { safeName } from '../../http/names';
import { ImageSchema } from '../microservices/schemas';

/**
 * The wire contract of registries and catalog items, defined once. Names and types follow upstream's
 * RegistryResponse / CatalogItemInfoResponse (swagger.yaml); differences are listed in
 * tests/fixtures/upstream-swagger/differences.json.
 */

const RegistryFields = z.object({
  url: z.string().min(1).max(1024),
  isPublic: z.boolean(),
  username: z.string().max(255),
  password: z.string().max(4096),
  email: z
    .string()
    .max(320)
    .regex(/^$|^[^\s@]+@[^\s@]+$/, 'must be an email address'),
});
export const RegistryCreate = RegistryFields.openapi('RegistryCreate');
export const RegistryUpdate = RegistryFields.partial().openapi('RegistryUpdate');
export type RegistryInput = z.infer<typeof RegistryCreate>;
export type RegistryUpdateInput = z.infer<typeof RegistryUpdate>;
/** Passwords are never returned. */
export const RegistryResponse = z
  .object({ id: z.number().int(), url: z.string(), isPublic: z.boolean(), username: z.string(), userEmail: z.string() })
  .openapi('Registry');
export type RegistryResponse = z.infer<typeof RegistryResponse>;
export const RegistryList = z.object({ registries: z.array(RegistryResponse) }).openapi('RegistryList');
export const RegistryCreated = z.object({ id: z.number().int() }).openapi('RegistryCreated');

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
  // null (GET's answer for an item without them) clears them.
  inputType: Io.nullable(),
  outputType: Io.nullable(),
});
export const CatalogItemCreate = CatalogFields.partial()
  .required({ name: true, registryId: true, images: true })
  .openapi('CatalogItemCreate');
export const CatalogItemUpdate = CatalogFields.partial().openapi('CatalogItemUpdate');
export type CatalogItemInput = z.infer<typeof CatalogItemUpdate>;
export type CatalogItemCreateInput = z.infer<typeof CatalogItemCreate>;

export const CatalogItemResponse = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string(),
    category: z.string().openapi({ description: 'SYSTEM marks the built-in router, NATS and debugger items' }),
    publisher: z.string(),
    picture: z.string(),
    configExample: z.string(),
    diskRequired: z.number(),
    ramRequired: z.number(),
    isPublic: z.boolean(),
    registryId: z.number().int(),
    images: z.array(z.object({ containerImage: z.string(), archId: z.number().int() })),
    inputType: z.object({ infoType: z.string(), infoFormat: z.string() }).nullable(),
    outputType: z.object({ infoType: z.string(), infoFormat: z.string() }).nullable(),
  })
  .openapi('CatalogItem');
export type CatalogItemResponse = z.infer<typeof CatalogItemResponse>;
export const CatalogItemList = z.object({ catalogItems: z.array(CatalogItemResponse) }).openapi('CatalogItemList');
export const CatalogItemCreated = z.object({ id: z.number().int() }).openapi('CatalogItemCreated');
