import { z } from '@hono/zod-openapi';

/**
 * The certificate wire contract. Field names follow what upstream's service answers, route by route —
 * not its swagger, which writes every response in snake_case: the reads (GET one CA, GET one certificate,
 * the certificate list) answer camelCase, while the create, CA list, expiring list and renew answers kept
 * snake_case. Clients written against upstream read exactly these names.
 */

const CaType = z.enum(['self-signed', 'direct', 'k8s-secret']);
const name = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');
const expiration = z
  .number()
  .int()
  .min(0)
  .openapi({ description: 'Validity: values below 1000 are months (30.44 days), larger values milliseconds' });
const instant = z.string().openapi({ format: 'date-time' });

export const CaCreate = z
  .strictObject({
    name,
    type: CaType,
    subject: z.string().min(1).max(1024).optional(),
    expiration: expiration.optional(),
    secretName: z.string().min(1).max(255).optional(),
  })
  .openapi('CertificateAuthorityCreate');
export type CaInput = z.infer<typeof CaCreate>;

export const CertCreate = z
  .strictObject({
    name,
    subject: z.string().min(1).max(1024),
    hosts: z.string().max(8192),
    expiration: expiration.optional(),
    ca: z
      .strictObject({
        type: CaType,
        secretName: z.string().min(1).max(255).optional(),
        cert: z.string().max(65536).optional(),
        key: z.string().max(65536).optional(),
      })
      .optional(),
  })
  .openapi('CertificateCreate');
export type CertInput = z.infer<typeof CertCreate>;

/** PEM material; null when the backing tls secret is gone. */
const PemData = z.object({ certificate: z.string().nullable(), privateKey: z.string().nullable() }).openapi('CertificatePem');

export const CaView = z
  .object({
    name: z.string(),
    subject: z.string(),
    isCA: z.literal(true),
    validFrom: instant,
    validTo: instant,
    serialNumber: z.string(),
    data: PemData,
  })
  .openapi('CertificateAuthority');

export const CaCreated = z
  .object({ name: z.string(), subject: z.string(), type: CaType, valid_from: instant, valid_to: instant })
  .openapi('CertificateAuthorityCreated');

export const CaSummary = z
  .object({
    name: z.string(),
    subject: z.string(),
    valid_from: instant,
    valid_to: instant,
    days_remaining: z.number().int(),
    is_expired: z.boolean(),
  })
  .openapi('CertificateAuthoritySummary');
export const CaList = z.object({ cas: z.array(CaSummary) }).openapi('CertificateAuthorityList');

export const CertSummary = z
  .object({
    name: z.string(),
    subject: z.string(),
    hosts: z.string(),
    isCA: z.boolean(),
    validFrom: instant,
    validTo: instant,
    daysRemaining: z.number().int(),
    isExpired: z.boolean(),
    caName: z.string().nullable(),
  })
  .openapi('CertificateSummary');
export const CertList = z.object({ certificates: z.array(CertSummary) }).openapi('CertificateList');

export const CertView = CertSummary.extend({
  serialNumber: z.string(),
  certificateChain: z.array(z.object({ name: z.string(), subject: z.string() })).openapi({ description: 'Signing CAs, nearest first' }),
  data: PemData,
}).openapi('Certificate');

export const CertCreated = z
  .object({
    name: z.string(),
    subject: z.string(),
    hosts: z.string(),
    valid_from: instant,
    valid_to: instant,
    ca_name: z.string().nullable(),
  })
  .openapi('CertificateCreated');

export const ExpiringCert = z
  .object({
    name: z.string(),
    subject: z.string(),
    hosts: z.string(),
    is_ca: z.boolean(),
    valid_from: instant,
    valid_to: instant,
    days_remaining: z.number().int(),
    ca_name: z.string().nullable(),
  })
  .openapi('ExpiringCertificate');
export const ExpiringList = z.object({ certificates: z.array(ExpiringCert) }).openapi('ExpiringCertificateList');

export const Renewed = z
  .object({ name: z.string(), subject: z.string(), hosts: z.string(), valid_from: instant, valid_to: instant, renewed: z.literal(true) })
  .openapi('CertificateRenewed');

export type CaViewT = z.infer<typeof CaView>;
export type CaCreatedT = z.infer<typeof CaCreated>;
export type CaListT = z.infer<typeof CaList>;
export type CertListT = z.infer<typeof CertList>;
export type CertViewT = z.infer<typeof CertView>;
export type CertCreatedT = z.infer<typeof CertCreated>;
export type ExpiringListT = z.infer<typeof ExpiringList>;
export type RenewedT = z.infer<typeof Renewed>;
