import { z } from '@hono/zod-openapi';
import { readOnly } from '../shared/read-only';

/** The wire contract of Controller replicas (/cluster/controllers). */

export const ClusterController = z
  .object({
    uuid: z.string(),
    host: z.string().nullable(),
    processId: z.number().nullable(),
    version: z.string().nullable(),
    lastHeartbeat: z.string().nullable(),
    isActive: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ClusterController');
export type ClusterControllerT = z.infer<typeof ClusterController>;

/** A host name, an IP address (v4 or bracketed v6) or an http(s) URL, as clients should reach the replica. */
export const Host = z
  .string()
  .min(1)
  .max(1024)
  .refine((h) => {
    if (/^https?:\/\//i.test(h)) {
      try {
        return Boolean(new URL(h).hostname);
      } catch {
        return false;
      }
    }
    return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*)(:\d{1,5})?$/.test(h);
  }, 'must be a host name, an IP address or an http(s) URL');

/**
 * Only `host` changes (null clears an operator-set host). The replica's own fields, as GET answers them,
 * are accepted back and ignored; `uuid`, when sent, must be the path's.
 */
export const ClusterControllerPatch = z
  .strictObject({
    host: Host.nullable(),
    uuid: z.string().optional().openapi({ description: 'When sent, must equal the uuid in the path' }),
    processId: readOnly(z.number().nullable()),
    version: readOnly(z.string().nullable()),
    lastHeartbeat: readOnly(z.string().nullable()),
    isActive: readOnly(z.boolean()),
    createdAt: readOnly(z.string()),
    updatedAt: readOnly(z.string()),
  })
  .openapi('ClusterControllerPatch');
