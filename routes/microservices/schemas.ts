import { z } from '@hono/zod-openapi';
import { safeName } from '../../src/http/names';

export const ImageSchema = z.object({ containerImage: z.string().min(1).max(1024), archId: z.number().int().min(1).max(4) });
export const PortSchema = z.object({
  internal: z.number().int().min(1).max(65535),
  external: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']).optional(),
});
export const VolumeSchema = z.object({
  hostDestination: z.string().min(1).max(4096),
  containerDestination: z.string().min(1).max(4096),
  accessMode: z.string().min(1).max(16),
  /** `serviceAccount` entries are system-managed: accepted in whole-list writes and dropped (operator-api §3.3). */
  type: z.enum(['bind', 'volume', 'volumeMount', 'serviceAccount']).optional(),
});

/** MicroserviceCreate / MicroserviceUpdate (operator-api §3.3). Unknown keys are ignored. */
export const MicroserviceFields = z.object({
  name: safeName(63),
  application: z.string().min(1).max(63),
  iofogUuid: z.string().min(1).max(64),
  agentName: z.string().min(1).max(255),
  images: z.array(ImageSchema).min(1).max(4),
  registryId: z.number().int().min(1),
  catalogItemId: z.number().int().min(1),
  config: z.union([z.string().max(1_000_000), z.record(z.string(), z.unknown())]),
  annotations: z.string().max(100_000),
  hostNetworkMode: z.boolean(),
  isPrivileged: z.boolean(),
  pidMode: z.string().max(64),
  ipcMode: z.string().max(64),
  cpuSetCpus: z.string().max(64),
  runAsUser: z.string().max(64),
  platform: z.string().max(64),
  runtime: z.string().max(64),
  memoryLimit: z.number().int().min(0),
  logSize: z.number().int().min(0),
  schedule: z.number().int().min(0).max(100),
  rebuild: z.boolean(),
  ports: z.array(PortSchema).max(256),
  volumeMappings: z.array(VolumeSchema).max(256),
  natsConfig: z.strictObject({ natsAccess: z.boolean(), natsRule: z.string().min(1).max(255).optional() }),
  natsAccess: z
    .unknown()
    .refine((v) => v === undefined, { message: 'not accepted at the top level; use natsConfig: { natsAccess, natsRule? }' })
    .openapi({ description: 'Rejected (400): use natsConfig.natsAccess', deprecated: true }),
  env: z
    .array(
      z
        .object({
          key: z.string().min(1).max(1024),
          value: z.string().max(100_000).optional(),
          valueFromSecret: z
            .string()
            .min(3)
            .max(600)
            .optional()
            .openapi({ description: '`secretName/key`; resolved when delivered to the agent' }),
          valueFromConfigMap: z
            .string()
            .min(3)
            .max(600)
            .optional()
            .openapi({ description: '`configMapName/key`; resolved when delivered to the agent' }),
        })
        .refine((e) => [e.value, e.valueFromSecret, e.valueFromConfigMap].filter((v) => v !== undefined).length === 1, {
          message: 'give exactly one of value, valueFromSecret, valueFromConfigMap',
        }),
    )
    .max(1024),
  extraHosts: z.array(z.object({ name: z.string().min(1).max(255), address: z.string().min(1).max(255) })).max(256),
  cmd: z.array(z.string().max(100_000)).max(1024),
  cdiDevices: z.array(z.string().max(255)).max(64),
  capAdd: z.array(z.string().max(64)).max(64),
  capDrop: z.array(z.string().max(64)).max(64),
  serviceAccount: z.object({
    roleRef: z.object({
      kind: z.literal('Role').default('Role'),
      name: z.string().min(1).max(255),
      apiGroup: z.string().max(255).optional(),
    }),
  }),
  healthCheck: z.object({
    test: z.array(z.string()).min(1),
    interval: z.number().int().min(0).optional(),
    timeout: z.number().int().min(0).optional(),
    startPeriod: z.number().int().min(0).optional(),
    startInterval: z.number().int().min(0).optional(),
    retries: z.number().int().min(0).optional(),
  }),
});

export const MicroserviceCreate = MicroserviceFields.partial().required({ name: true }).openapi('MicroserviceCreate');
export const MicroserviceUpdate = MicroserviceFields.partial().openapi('MicroserviceUpdate');
export const MicroserviceSchema = z
  .record(z.string(), z.unknown())
  .openapi('Microservice', { description: 'A microservice with its status (operator-api §3.3)' });

export const ApplicationCreate = z
  .object({
    name: safeName(63),
    description: z.string().max(10_000).optional(),
    isActivated: z.boolean().optional(),
    natsConfig: z.strictObject({ natsAccess: z.boolean(), natsRule: z.string().min(1).max(255).optional() }).optional(),
    microservices: z.array(MicroserviceCreate).max(100).optional(),
    template: z
      .object({
        name: z.string().min(1).max(255),
        variables: z
          .array(z.object({ key: z.string().min(1).max(255), value: z.union([z.string().max(10_000), z.number(), z.boolean()]) }))
          .max(100)
          .optional(),
      })
      .optional()
      .openapi({
        description: 'Deploy from an application template: its microservices with the variables substituted (instead of `microservices`)',
      }),
  })
  .openapi('ApplicationCreate');
export const ApplicationPatch = z
  .object({
    name: safeName(63).optional(),
    description: z.string().max(10_000).optional(),
    isActivated: z.boolean().optional(),
    natsConfig: z.strictObject({ natsAccess: z.boolean(), natsRule: z.string().min(1).max(255).optional() }).optional(),
  })
  .openapi('ApplicationPatch');
export const ApplicationSchema = z
  .record(z.string(), z.unknown())
  .openapi('Application', { description: 'An application with its microservices (operator-api §3.2)' });
