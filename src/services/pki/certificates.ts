import { and, asc, eq, isNotNull, lte } from 'drizzle-orm';
import { certificate, secret } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError, conflict, invalid, notFound } from '../../errors';
import { auditTarget } from '../events/audit';
import { mountsUsing, sourceChanged } from '../config/resources';
import { checkNames, describe, loadCa, selfSigned, signedLeaf, validityMs, type Issued, type SigningCa } from './x509';
import type {
  CaCreatedT,
  CaInput,
  CaListT,
  CaViewT,
  CertCreatedT,
  CertInput,
  CertListT,
  CertViewT,
  ExpiringListT,
  RenewedT,
} from './schemas';

/**
 * Certificate authorities and certificates. Keys are generated
 * and signed before the write transaction; the transaction stores the row and the `tls` secret
 * (`tls.crt`, `tls.key`, `ca.crt` as base64 PEM, encrypted). Private keys leave the Controller only
 * in the `data` of the GET responses the spec defines and in the secrets mounted to agents.
 */

type CertRow = typeof certificate.$inferSelect;

/** The central CAs, ensured on first need (never at boot), unless the operator imported one under the name. */
export const WELL_KNOWN_CAS = ['default-router-local-ca', 'router-site-ca', 'default-nats-local-ca', 'nats-site-ca'] as const;
const CA_MONTHS = 60;
const LEAF_MONTHS = 60;

const b64 = (s: string) => btoa(s);
const unb64 = (s: string, what: string) => {
  try {
    return atob(s);
  } catch {
    throw invalid(`${what}: not valid base64`);
  }
};
const iso = (ms: number) => new Date(ms).toISOString();

async function readTls(ctx: AppCtx, name: string): Promise<{ crt: string; key: string; ca?: string } | undefined> {
  const [row] = await ctx.db.select().from(secret).where(eq(secret.name, name)).limit(1);
  if (!row) return undefined;
  if (row.type !== 'tls') throw invalid(`secretName: ${name} is a ${row.type} secret; a CA needs a tls secret with tls.crt and tls.key`);
  const data = JSON.parse(await ctx.vault.decrypt(row.dataEnc, `secret:${name}`)) as Record<string, string>;
  if (!data['tls.crt'] || !data['tls.key']) throw invalid(`secretName: ${name} lacks tls.crt or tls.key`);
  return {
    crt: unb64(data['tls.crt'], `${name}.tls.crt`),
    key: unb64(data['tls.key'], `${name}.tls.key`),
    ca: data['ca.crt'] ? unb64(data['ca.crt'], `${name}.ca.crt`) : undefined,
  };
}

async function sealTls(ctx: AppCtx, name: string, issued: { certPem: string; keyPem: string }, caPem: string): Promise<string> {
  return ctx.vault.encrypt(
    JSON.stringify({ 'tls.crt': b64(issued.certPem), 'tls.key': b64(issued.keyPem), 'ca.crt': b64(caPem) }),
    `secret:${name}`,
  );
}

/** Inside a write transaction: create or overwrite the tls secret; an overwrite bumps the mounts that project it. */
async function storeTls(tx: AppCtx, name: string, dataEnc: string): Promise<void> {
  const now = tx.clock.now();
  const [row] = await tx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, name)).limit(1);
  if (row) {
    await tx.db.update(secret).set({ dataEnc, type: 'tls', updatedAt: now }).where(eq(secret.id, row.id));
    await sourceChanged(tx, { secretName: name });
  } else {
    await tx.db.insert(secret).values({ name, type: 'tls', dataEnc, createdAt: now, updatedAt: now });
  }
}

async function rowByName(ctx: AppCtx, name: string): Promise<CertRow | undefined> {
  const [row] = await ctx.db.select().from(certificate).where(eq(certificate.name, name)).limit(1);
  return row;
}

async function signerOf(ctx: AppCtx, row: CertRow): Promise<SigningCa> {
  const tls = await readTls(ctx, row.secretName);
  if (!tls) throw notFound(`Secret ${row.secretName} of CA ${row.name}`);
  return loadCa(tls.crt, tls.key, `CA ${row.name}`);
}

// ---- CAs ----

export async function createCa(ctx: AppCtx, input: CaInput): Promise<CaCreatedT> {
  if (await rowByName(ctx, input.name)) throw conflict(`Certificate or CA ${input.name} already exists`);
  if (input.type === 'k8s-secret')
    throw invalid('type: k8s-secret needs a Kubernetes control plane; import the CA into a Controller tls secret and use type direct');
  if (input.type === 'direct') {
    if (!input.secretName) throw invalid('secretName: required for type direct');
    const tls = await readTls(ctx, input.secretName);
    if (!tls) throw notFound(`Secret ${input.secretName}`);
    await loadCa(tls.crt, tls.key, `secret ${input.secretName}`);
    const facts = await describe(tls.crt);
    if (!facts.isCA) throw invalid(`secretName: the certificate in ${input.secretName} is not a CA (basicConstraints cA=FALSE)`);
    await withTransaction(ctx, async (tx) => {
      if ((await tx.db.select({ id: certificate.id }).from(certificate).where(eq(certificate.name, input.name)).limit(1)).length)
        throw conflict(`Certificate or CA ${input.name} already exists`);
      const now = tx.clock.now();
      await tx.db.insert(certificate).values({
        name: input.name,
        subject: facts.subject,
        isCA: true,
        validFrom: facts.notBefore.getTime(),
        validTo: facts.notAfter.getTime(),
        serialNumber: facts.serialNumber,
        secretName: input.secretName!,
        imported: true,
        createdAt: now,
        updatedAt: now,
      });
      auditTarget(tx, input.name);
    });
    return caCreated(ctx, input.name, input.type);
  }
  if (!input.subject) throw invalid('subject: required for a self-signed CA');
  await checkNames(input.subject, []);
  await generateCa(ctx, input.name, input.subject, input.expiration);
  return caCreated(ctx, input.name, input.type);
}

/** Upstream answers a create with a short snake_case record, not the full CA. */
async function caCreated(ctx: AppCtx, name: string, type: CaInput['type']): Promise<CaCreatedT> {
  const r = (await rowByName(ctx, name))!;
  return { name: r.name, subject: r.subject, type, valid_from: iso(r.validFrom), valid_to: iso(r.validTo) };
}

async function generateCa(ctx: AppCtx, name: string, subject: string, expiration: number | undefined): Promise<void> {
  const issued = await selfSigned(subject, validityMs(expiration, CA_MONTHS), { ca: true }, ctx.clock.now());
  const sealed = await sealTls(ctx, name, issued, issued.certPem);
  await withTransaction(ctx, async (tx) => {
    if ((await tx.db.select({ id: certificate.id }).from(certificate).where(eq(certificate.name, name)).limit(1)).length)
      throw conflict(`Certificate or CA ${name} already exists`);
    const [clash] = await tx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, name)).limit(1);
    if (clash) throw conflict(`A secret named ${name} already exists; register it with type direct, or choose another name`);
    await storeTls(tx, name, sealed);
    await insertRow(tx, name, subject, '', true, issued, null, expiration ?? null);
    auditTarget(tx, name);
  });
}

async function insertRow(
  tx: AppCtx,
  name: string,
  subject: string,
  hosts: string,
  isCA: boolean,
  issued: Issued,
  signedById: number | null,
  expiration: number | null,
) {
  const now = tx.clock.now();
  await tx.db.insert(certificate).values({
    name,
    subject: subject.includes('=') ? subject : `CN=${subject}`,
    hosts,
    isCA,
    validFrom: issued.notBefore.getTime(),
    validTo: issued.notAfter.getTime(),
    serialNumber: issued.serialNumber,
    signedById,
    expiration,
    secretName: name,
    createdAt: now,
    updatedAt: now,
  });
}

/** Idempotent ensure of a central CA: find by name, generate only when absent. */
export async function ensureCa(ctx: AppCtx, name: (typeof WELL_KNOWN_CAS)[number]): Promise<CertRow> {
  const existing = await rowByName(ctx, name);
  if (existing) return existing;
  try {
    await generateCa(ctx, name, name, CA_MONTHS);
  } catch (err) {
    if (!(err instanceof ServiceError && err.code === 'CONFLICT')) throw err; // created concurrently
  }
  return (await rowByName(ctx, name))!;
}

const daysLeft = (ctx: AppCtx, r: CertRow) => Math.floor((r.validTo - ctx.clock.now()) / 86_400_000);

export async function listCas(ctx: AppCtx): Promise<CaListT> {
  const rows = await ctx.db.select().from(certificate).where(eq(certificate.isCA, true)).orderBy(asc(certificate.name));
  return {
    cas: rows.map((r) => ({
      name: r.name,
      subject: r.subject,
      valid_from: iso(r.validFrom),
      valid_to: iso(r.validTo),
      days_remaining: daysLeft(ctx, r),
      is_expired: r.validTo <= ctx.clock.now(),
    })),
  };
}

async function pemData(ctx: AppCtx, r: CertRow): Promise<CaViewT['data']> {
  const tls = await readTls(ctx, r.secretName);
  return { certificate: tls?.crt ?? null, privateKey: tls?.key ?? null };
}

export async function getCa(ctx: AppCtx, name: string): Promise<CaViewT> {
  const r = await rowByName(ctx, name);
  if (!r?.isCA) throw notFound(`CA ${name}`);
  return {
    name: r.name,
    subject: r.subject,
    isCA: true,
    validFrom: iso(r.validFrom),
    validTo: iso(r.validTo),
    serialNumber: r.serialNumber,
    data: await pemData(ctx, r),
  };
}

export async function deleteCa(ctx: AppCtx, name: string): Promise<void> {
  const r = await rowByName(ctx, name);
  if (!r?.isCA) throw notFound(`CA ${name}`);
  await deleteRow(ctx, r);
}

async function deleteRow(ctx: AppCtx, r: CertRow): Promise<void> {
  await withTransaction(ctx, async (tx) => {
    const signed = await tx.db.select({ name: certificate.name }).from(certificate).where(eq(certificate.signedById, r.id));
    if (signed.length) throw invalid(`${r.name} has signed certificates (${signed.map((s) => s.name).join(', ')}); delete them first`);
    if (!r.imported) {
      const mounts = await mountsUsing(tx, { secretName: r.secretName });
      if (mounts.length) throw conflict(`${r.name} is projected by volume mount(s) ${mounts.join(', ')}`);
      await tx.db.delete(secret).where(eq(secret.name, r.secretName));
    }
    await tx.db.delete(certificate).where(eq(certificate.id, r.id));
  });
}

// ---- certificates ----

/** The signer named by a request's `ca` block: a CA row (central ones ensured), a bare tls secret, or inline PEM. */
async function resolveSigner(ctx: AppCtx, ca: NonNullable<CertInput['ca']>): Promise<{ signer: SigningCa; row?: CertRow }> {
  if (ca.type === 'k8s-secret') throw invalid('ca.type: k8s-secret needs a Kubernetes control plane');
  if (ca.cert && ca.key) return { signer: await loadCa(ca.cert, ca.key, 'ca') };
  if (!ca.secretName) throw invalid('ca.secretName: required for ca.type direct (or give ca.cert and ca.key)');
  let row = await rowByName(ctx, ca.secretName);
  if (!row && (WELL_KNOWN_CAS as readonly string[]).includes(ca.secretName))
    row = await ensureCa(ctx, ca.secretName as (typeof WELL_KNOWN_CAS)[number]);
  if (row) {
    if (!row.isCA) throw invalid(`ca.secretName: ${ca.secretName} is not a CA`);
    return { signer: await signerOf(ctx, row), row };
  }
  const tls = await readTls(ctx, ca.secretName);
  if (!tls) throw notFound(`CA ${ca.secretName}`);
  return { signer: await loadCa(tls.crt, tls.key, `secret ${ca.secretName}`) };
}

function hostList(hosts: string): string[] {
  const list = hosts
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (const h of list) if (!/^[A-Za-z0-9*._:-]{1,253}$/.test(h)) throw invalid(`hosts: "${h}" is not a DNS name or IP address`);
  return list;
}

export async function createCertificate(ctx: AppCtx, input: CertInput): Promise<CertCreatedT> {
  if (await rowByName(ctx, input.name)) throw conflict(`Certificate or CA ${input.name} already exists`);
  const hosts = hostList(input.hosts);
  await checkNames(input.subject, hosts);
  const ms = validityMs(input.expiration, LEAF_MONTHS);
  let issued: Issued;
  let caPem: string;
  let signedBy: CertRow | undefined;
  if (!input.ca || input.ca.type === 'self-signed') {
    issued = await selfSigned(input.subject, ms, { ca: false, hosts }, ctx.clock.now());
    caPem = issued.certPem;
  } else {
    const { signer, row } = await resolveSigner(ctx, input.ca);
    issued = await signedLeaf(signer, input.subject, hosts, ms, ctx.clock.now());
    caPem = signer.certPem;
    signedBy = row;
  }
  const sealed = await sealTls(ctx, input.name, issued, caPem);
  await withTransaction(ctx, async (tx) => {
    if ((await tx.db.select({ id: certificate.id }).from(certificate).where(eq(certificate.name, input.name)).limit(1)).length)
      throw conflict(`Certificate or CA ${input.name} already exists`);
    const [clash] = await tx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, input.name)).limit(1);
    if (clash) throw conflict(`A secret named ${input.name} already exists`);
    await storeTls(tx, input.name, sealed);
    await insertRow(tx, input.name, input.subject, hosts.join(','), false, issued, signedBy?.id ?? null, input.expiration ?? null);
    auditTarget(tx, input.name);
  });
  const r = (await rowByName(ctx, input.name))!;
  return {
    name: r.name,
    subject: r.subject,
    hosts: r.hosts,
    valid_from: iso(r.validFrom),
    valid_to: iso(r.validTo),
    ca_name: signedBy?.name ?? null,
  };
}

async function chainOf(ctx: AppCtx, r: CertRow) {
  const chain: Array<{ name: string; subject: string }> = [];
  let cur: CertRow | undefined = r;
  const seen = new Set<number>();
  while (cur?.signedById && !seen.has(cur.signedById)) {
    seen.add(cur.signedById);
    const [next]: CertRow[] = await ctx.db.select().from(certificate).where(eq(certificate.id, cur.signedById)).limit(1);
    if (!next) break;
    chain.push({ name: next.name, subject: next.subject });
    cur = next;
  }
  return chain;
}

const summary = (ctx: AppCtx, r: CertRow, caName: string | null): CertListT['certificates'][number] => ({
  name: r.name,
  subject: r.subject,
  hosts: r.hosts,
  isCA: r.isCA,
  validFrom: iso(r.validFrom),
  validTo: iso(r.validTo),
  daysRemaining: daysLeft(ctx, r),
  isExpired: r.validTo <= ctx.clock.now(),
  caName,
});

async function certRows(ctx: AppCtx, expiringWithinDays?: number): Promise<Array<{ r: CertRow; caName: string | null }>> {
  const where = expiringWithinDays !== undefined ? lte(certificate.validTo, ctx.clock.now() + expiringWithinDays * 86_400_000) : undefined;
  const rows = await ctx.db.select().from(certificate).where(where).orderBy(asc(certificate.name));
  const names = new Map(rows.map((r) => [r.id, r.name]));
  const missing = rows.filter((r) => r.signedById && !names.has(r.signedById));
  for (const m of missing) {
    const [ca] = await ctx.db
      .select({ id: certificate.id, name: certificate.name })
      .from(certificate)
      .where(eq(certificate.id, m.signedById!))
      .limit(1);
    if (ca) names.set(ca.id, ca.name);
  }
  return rows.map((r) => ({ r, caName: r.signedById ? (names.get(r.signedById) ?? null) : null }));
}

export async function listCertificates(ctx: AppCtx): Promise<CertListT> {
  return { certificates: (await certRows(ctx)).map(({ r, caName }) => summary(ctx, r, caName)) };
}

/** Upstream's expiring list kept snake_case (and has no is_expired), unlike the full list. */
export async function listExpiringCertificates(ctx: AppCtx, days: number): Promise<ExpiringListT> {
  const rows = await certRows(ctx, days);
  return {
    certificates: rows.map(({ r, caName }) => ({
      name: r.name,
      subject: r.subject,
      hosts: r.hosts,
      is_ca: r.isCA,
      valid_from: iso(r.validFrom),
      valid_to: iso(r.validTo),
      days_remaining: daysLeft(ctx, r),
      ca_name: caName,
    })),
  };
}

export async function getCertificate(ctx: AppCtx, name: string): Promise<CertViewT> {
  const r = await rowByName(ctx, name);
  if (!r) throw notFound(`Certificate ${name}`);
  const chain = await chainOf(ctx, r);
  return { ...summary(ctx, r, chain[0]?.name ?? null), serialNumber: r.serialNumber, certificateChain: chain, data: await pemData(ctx, r) };
}

export async function deleteCertificate(ctx: AppCtx, name: string): Promise<void> {
  const r = await rowByName(ctx, name);
  if (!r) throw notFound(`Certificate ${name}`);
  await deleteRow(ctx, r);
}

/**
 * POST /certificates/:name/renew: a new key pair and certificate with the same subject and hosts,
 * signed by the same CA (expired CA → 400), written over the same secret — so every volume mount
 * projecting it gets a new version and its fogs the `volumeMounts` flag. The row records the validity
 * actually written into the certificate.
 */
export async function renewCertificate(ctx: AppCtx, name: string): Promise<RenewedT> {
  const r = await rowByName(ctx, name);
  if (!r) throw notFound(`Certificate ${name}`);
  if (r.imported) throw invalid(`${name} was imported from secret ${r.secretName}; renew it at its source and update the secret`);
  const hosts = r.hosts ? r.hosts.split(',') : [];
  const ms = validityMs(r.expiration, r.isCA ? CA_MONTHS : LEAF_MONTHS);
  const subject = r.subject;
  let issued: Issued;
  let caPem: string;
  if (r.signedById) {
    const [caRow] = await ctx.db.select().from(certificate).where(eq(certificate.id, r.signedById)).limit(1);
    if (!caRow) throw invalid(`${name}: its CA no longer exists`);
    if (caRow.validTo <= ctx.clock.now()) throw invalid(`${name}: its CA ${caRow.name} has expired; renew the CA first`);
    const signer = await signerOf(ctx, caRow);
    issued = await signedLeaf(signer, subject, hosts, ms, ctx.clock.now());
    caPem = signer.certPem;
  } else {
    issued = await selfSigned(subject, ms, { ca: r.isCA, hosts }, ctx.clock.now());
    caPem = issued.certPem;
  }
  const sealed = await sealTls(ctx, r.secretName, issued, caPem);
  await withTransaction(ctx, async (tx) => {
    await storeTls(tx, r.secretName, sealed);
    await tx.db
      .update(certificate)
      .set({
        validFrom: issued.notBefore.getTime(),
        validTo: issued.notAfter.getTime(),
        serialNumber: issued.serialNumber,
        updatedAt: tx.clock.now(),
      })
      .where(eq(certificate.id, r.id));
    auditTarget(tx, name);
  });
  return {
    name: r.name,
    subject: r.subject,
    hosts: r.hosts,
    valid_from: iso(issued.notBefore.getTime()),
    valid_to: iso(issued.notAfter.getTime()),
    renewed: true,
  };
}

/**
 * The renewal job: Controller-signed leaf certificates whose validity ends within `days` are renewed
 * (CAs are never renewed automatically: a new CA key would leave everything it signed untrusted). Failures are reported, not thrown.
 */
export async function renewExpiring(ctx: AppCtx, days: number): Promise<{ renewed: string[]; failed: string[] }> {
  if (days <= 0) return { renewed: [], failed: [] };
  const rows = await ctx.db
    .select({ name: certificate.name })
    .from(certificate)
    .where(
      and(
        eq(certificate.isCA, false),
        eq(certificate.imported, false),
        isNotNull(certificate.signedById),
        lte(certificate.validTo, ctx.clock.now() + days * 86_400_000),
      ),
    )
    .orderBy(asc(certificate.name));
  const renewed: string[] = [];
  const failed: string[] = [];
  for (const r of rows) {
    try {
      await renewCertificate(ctx, r.name);
      renewed.push(r.name);
    } catch (err) {
      failed.push(r.name);
      ctx.logger.warn('certificate renewal failed', { name: r.name, err: String(err) });
    }
  }
  return { renewed, failed };
}
