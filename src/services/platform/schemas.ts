import { z } from '@hono/zod-openapi';
import { readOnly } from '../shared/read-only';

/** The wire contract of services (router TCP bridges) and of the default router. */

const port = z.number().int().min(1).max(65535);
export const ServiceCreate = z
  .object({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-"'),
    type: z.enum(['microservice', 'agent', 'k8s', 'external']),
    resource: z.string().min(1).max(1024),
    targetPort: port,
    defaultBridge: z.string().min(1).max(255).optional(),
    servicePort: port.optional(),
    k8sType: z.enum(['LoadBalancer', 'ClusterIP', 'NodePort']).optional(),
    tags: z.array(z.string().min(1).max(255)).max(64).optional(),
  })
  .openapi('ServiceCreate');
export type ServiceInput = z.infer<typeof ServiceCreate>;

/**
 * A PATCH merges the fields it carries. It takes back what GET answered: `servicePort` and `k8sType` may be
 * null there (meaning "not set"), and the reconcile state is the server's and ignored.
 */
export const ServiceUpdate = ServiceCreate.partial()
  .extend({
    servicePort: port.nullable().optional(),
    k8sType: ServiceCreate.shape.k8sType.unwrap().nullable().optional(),
    bridgePort: readOnly(z.number()),
    serviceEndpoint: readOnly(z.string().nullable()),
    provisioningStatus: readOnly(z.string()),
    provisioningError: readOnly(z.string().nullable()),
  })
  .openapi('ServiceUpdate');

export const ServiceView = z
  .object({
    name: z.string(),
    type: z.string(),
    resource: z.string(),
    targetPort: z.number(),
    servicePort: z.number().nullable(),
    bridgePort: z.number(),
    defaultBridge: z.string(),
    tags: z.array(z.string()),
    k8sType: z.string().nullable(),
    serviceEndpoint: z.string().nullable(),
    provisioningStatus: z.enum(['pending', 'ready', 'failed']),
    provisioningError: z.string().nullable(),
  })
  .openapi('Service');
export type ServiceViewT = z.infer<typeof ServiceView>;

export const RouterView = z
  .object({ host: z.string(), messagingPort: z.number(), edgeRouterPort: z.number(), interRouterPort: z.number() })
  .openapi('Router');
export const RouterPut = z
  .strictObject({
    host: z.string().min(1).max(1024),
    messagingPort: port.optional(),
    edgeRouterPort: port.optional(),
    interRouterPort: port.optional(),
  })
  .openapi('RouterUpdate');
