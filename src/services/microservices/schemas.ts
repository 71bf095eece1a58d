import { z } from '@hono/zod-openapi';
import { safeName } from '../../http/names';

/**
 * The wire contract of microservices, applications and application templates: request bodies and
 * response objects, defined once. Names, types and nullability follow upstream's swagger.yaml
 * (MicroserviceInfoResponse, ApplicationGetResponse, ApplicationTemplateGetResponse, …) where v3.8 kept
 * them; tests/fixtures/upstream-swagger/differences.json lists where we differ and why.
 */

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
  /** `serviceAccount` entries are system-managed: accepted in whole-list writes and dropped */
  type: z.enum(['bind', 'volume', 'volumeMount', 'serviceAccount']).optional(),
});

const HealthCheck = z.object({
  test: z.array(z.string()).min(1),
  interval: z.number().int().min(0).optional(),
  timeout: z.number().int().min(0).optional(),
  startPeriod: z.number().int().min(0).optional(),
  startInterval: z.number().int().min(0).optional(),
  retries: z.number().int().min(0).optional(),
});
const NatsConfig = z.strictObject({ natsAccess: z.boolean(), natsRule: z.string().min(1).max(255).optional() });

/** MicroserviceCreate / MicroserviceUpdate. Unknown keys are ignored, as upstream. */
export const MicroserviceFields = z.object({
  name: safeName(63),
  application: z.string().min(1).max(63),
  // null (what GET shows for an unplaced microservice) leaves the placement as it is.
  iofogUuid: z.string().min(1).max(64).nullable(),
  agentName: z.string().min(1).max(255).nullable(),
  images: z.array(ImageSchema).min(1).max(4),
  registryId: z.number().int().min(1),
  catalogItemId: z.number().int().min(1).nullable(),
  config: z.union([z.string().max(1_000_000), z.record(z.string(), z.unknown())]).openapi({
    description:
      'The configuration document: JSON text (upstream clients may escape its quotes as \\"; they are unescaped, as upstream does) or a JSON object. Stored and delivered to the agent as text.',
  }),
  annotations: z.string().max(100_000).nullable(),
  hostNetworkMode: z.boolean(),
  isPrivileged: z.boolean(),
  pidMode: z.string().max(64),
  ipcMode: z.string().max(64),
  cpuSetCpus: z.string().max(64),
  runAsUser: z.string().max(64),
  platform: z.string().max(64),
  runtime: z.string().max(64),
  memoryLimit: z.number().int().min(0).nullable(),
  logSize: z.number().int().min(0),
  schedule: z.number().int().min(0).max(100),
  rebuild: z.boolean(),
  ports: z.array(PortSchema).max(256),
  volumeMappings: z.array(VolumeSchema).max(256),
  natsConfig: NatsConfig,
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
  // null (GET's answer before the account exists) keeps the current role.
  serviceAccount: z
    .object({
      roleRef: z.object({
        kind: z.literal('Role').default('Role'),
        name: z.string().min(1).max(255),
        apiGroup: z.string().max(255).optional(),
      }),
    })
    .nullable(),
  // `{}` is "no health check", as GET shows it.
  healthCheck: z.union([HealthCheck, z.strictObject({})]),
});

export const MicroserviceCreate = MicroserviceFields.partial().required({ name: true }).openapi('MicroserviceCreate');
export const MicroserviceUpdate = MicroserviceFields.partial().openapi('MicroserviceUpdate');
export type MicroserviceInput = z.infer<typeof MicroserviceUpdate>;

export const PortResponse = z
  .object({ internal: z.number().int(), external: z.number().int(), protocol: z.enum(['tcp', 'udp']) })
  .openapi('PortMapping');
export const VolumeResponse = z
  .object({
    id: z.number().int(),
    hostDestination: z.string(),
    containerDestination: z.string(),
    accessMode: z.string(),
    type: z.enum(['bind', 'volume', 'volumeMount']),
  })
  .openapi('VolumeMapping');
const EnvResponse = z.object({
  key: z.string(),
  value: z.string().optional(),
  valueFromSecret: z.string().optional(),
  valueFromConfigMap: z.string().optional(),
});

export const MicroserviceStatus = z
  .object({
    status: z.string().openapi({
      description:
        'QUEUED, PULLING, CREATING, CREATED, STARTING, RUNNING, UPDATING, RESTARTING, EXITING, STUCK_IN_RESTART, FAILED, MARKED_FOR_DELETION, DELETING, DELETED, STOPPING, STOPPED or UNKNOWN',
    }),
    percentage: z.number(),
    containerId: z.string(),
    startTime: z.number().openapi({ description: 'epoch ms; 0 until the agent reports one' }),
    operatingDuration: z.number(),
    cpuUsage: z.number(),
    memoryUsage: z.number(),
    ipAddress: z.string(),
    healthStatus: z.string(),
    errorMessage: z.string(),
    execSessionIds: z.array(z.string()),
  })
  .openapi('MicroserviceStatus');

export const ExecStatus = z
  .object({
    status: z
      .enum(['INACTIVE', 'PENDING', 'ACTIVE'])
      .openapi({ description: 'INACTIVE: no exec session; PENDING: an operator waits for the agent; ACTIVE: both ends connected' }),
    execSessionId: z.string().openapi({ description: 'The current session, or "" when INACTIVE' }),
  })
  .openapi('MicroserviceExecStatus');

/** A microservice as GET /microservices/{uuid} and the lists show it. */
export const MicroserviceResponse = z
  .object({
    uuid: z.string(),
    name: z.string(),
    config: z.string().openapi({ description: 'The configuration document as text (JSON)' }),
    annotations: z.string().openapi({ description: 'JSON text; {} when none' }),
    application: z.string().openapi({ description: 'Application name' }),
    applicationId: z.number().int(),
    isActivated: z.boolean().openapi({ description: 'false after PATCH …/stop, true after …/start' }),
    iofogUuid: z.string().nullable(),
    agentName: z.string().nullable(),
    images: z.array(z.object({ containerImage: z.string(), archId: z.number().int() })),
    registryId: z.number().int(),
    catalogItemId: z.number().int().nullable(),
    hostNetworkMode: z.boolean(),
    isPrivileged: z.boolean(),
    pidMode: z.string(),
    ipcMode: z.string(),
    cpuSetCpus: z.string(),
    runAsUser: z.string(),
    platform: z.string(),
    runtime: z.string(),
    memoryLimit: z.number().nullable(),
    logSize: z.number(),
    schedule: z.number().int(),
    env: z.array(EnvResponse),
    extraHosts: z.array(z.object({ name: z.string(), address: z.string() })),
    cmd: z.array(z.string()),
    cdiDevices: z.array(z.string()),
    capAdd: z.array(z.string()),
    capDrop: z.array(z.string()),
    healthCheck: z.union([HealthCheck, z.strictObject({})]).openapi({ description: '{} when the microservice has none' }),
    ports: z.array(PortResponse),
    volumeMappings: z.array(VolumeResponse),
    natsConfig: z.object({ natsAccess: z.boolean(), natsRule: z.string().optional() }),
    isRouter: z.boolean(),
    isNats: z.boolean(),
    isController: z.boolean(),
    rebuild: z.boolean(),
    serviceAccount: z
      .object({ name: z.string(), roleRef: z.object({ kind: z.literal('Role'), name: z.string(), apiGroup: z.string().optional() }) })
      .nullable(),
    status: MicroserviceStatus,
    execStatus: ExecStatus,
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Microservice', { description: 'A microservice with its status' });
export type MicroserviceResponse = z.infer<typeof MicroserviceResponse>;

export const MicroserviceList = z.object({ microservices: z.array(MicroserviceResponse) }).openapi('MicroserviceList');
export const MicroserviceCreated = z.object({ uuid: z.string(), name: z.string() }).openapi('MicroserviceCreated');
export const MicroserviceConfigResponse = z
  .object({
    config: z.union([z.record(z.string(), z.unknown()), z.string()]).openapi({
      description: 'The stored document: the JSON object, or the stored text when it is not a JSON object',
    }),
  })
  .openapi('MicroserviceConfig');
export const MicroserviceConfigBody = z
  .record(z.string(), z.unknown())
  .openapi('MicroserviceConfigBody', { description: 'The new configuration document (free-form JSON object)' });
export const PortList = z.object({ ports: z.array(PortResponse) }).openapi('PortMappingList');
export const VolumeList = z.object({ volumeMappings: z.array(VolumeResponse) }).openapi('VolumeMappingList');
export const VolumeCreated = z.object({ id: z.number().int() }).openapi('VolumeMappingCreated');

export const ApplicationCreate = z
  .object({
    name: safeName(63),
    description: z.string().max(10_000).optional(),
    isActivated: z.boolean().optional(),
    natsConfig: NatsConfig.optional(),
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
export type ApplicationCreateInput = z.infer<typeof ApplicationCreate>;
/** PUT: the application state; `name` may be left out (the path names it) and must equal the path when present. */
export const ApplicationPut = ApplicationCreate.partial({ name: true }).openapi('ApplicationPut');
export const ApplicationPatch = z
  .object({
    name: safeName(63).optional(),
    description: z.string().max(10_000).optional(),
    isActivated: z.boolean().optional(),
    natsConfig: NatsConfig.optional(),
  })
  .openapi('ApplicationPatch');
export type ApplicationPatchInput = z.infer<typeof ApplicationPatch>;

/** An application with its microservices. */
export const ApplicationResponse = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string(),
    isActivated: z.boolean(),
    isSystem: z.boolean(),
    natsConfig: z.object({ natsAccess: z.boolean(), natsRule: z.string() }),
    microservices: z.array(MicroserviceResponse),
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Application', { description: 'An application with its microservices' });
export type ApplicationResponse = z.infer<typeof ApplicationResponse>;
export const ApplicationList = z.object({ applications: z.array(ApplicationResponse) }).openapi('ApplicationList');
export const ApplicationCreated = z.object({ id: z.number().int(), name: z.string() }).openapi('ApplicationCreated');

// ---- application templates ----

/** Upstream's name rule (DNS-subdomain style) for template names and variable keys. */
const TemplateName = safeName(63).regex(
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  'must be lower-case letters, digits, "-" and "."',
);
export const TemplateVariable = z
  .object({
    key: TemplateName,
    description: z.string().max(1000).optional(),
    defaultValue: z.union([z.string().max(10_000), z.number(), z.boolean()]).optional(),
    type: z.enum(['string', 'number', 'boolean']).optional().openapi({ description: 'default string' }),
    required: z.boolean().optional().openapi({ description: 'default: true when there is no defaultValue' }),
  })
  .openapi('TemplateVariable');
export type TemplateVariable = z.infer<typeof TemplateVariable>;
/** Microservices keep their placeholders until deploy, so only the shape is checked here. */
const TemplateMicroservice = z
  .looseObject({ name: safeName(255) })
  .openapi({ description: 'A microservice as in ApplicationCreate, with {{variable}} placeholders in its strings' });
export const TemplateApplication = z
  .object({
    microservices: z.array(TemplateMicroservice).max(100),
    natsConfig: z.looseObject({}).optional().openapi({ description: 'As in ApplicationCreate (may hold placeholders)' }),
  })
  .openapi('TemplateApplication');
export type TemplateApplication = z.infer<typeof TemplateApplication>;
export const TemplateCreate = z
  .object({
    name: TemplateName,
    description: z.string().max(10_000).optional(),
    variables: z.array(TemplateVariable).max(100).optional(),
    application: TemplateApplication,
  })
  .openapi('ApplicationTemplateCreate');
export type TemplateInput = z.infer<typeof TemplateCreate>;
/** PUT: as POST; `name` may be left out (the path names it) and must equal the path when present. */
export const TemplatePut = TemplateCreate.partial({ name: true }).openapi('ApplicationTemplatePut');
export const TemplatePatch = z
  .object({ name: TemplateName.optional(), description: z.string().max(10_000).optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined, 'give name and/or description')
  .openapi('ApplicationTemplatePatch');
export const TemplateResponse = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string(),
    variables: z.array(TemplateVariable),
    application: TemplateApplication,
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('ApplicationTemplate');
export type TemplateResponse = z.infer<typeof TemplateResponse>;
export const TemplateList = z.object({ applicationTemplates: z.array(TemplateResponse) }).openapi('ApplicationTemplateList');
export const TemplateRef = z.object({ id: z.number().int(), name: z.string() }).openapi('ApplicationTemplateRef');
