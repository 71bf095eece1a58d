import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type KeyPair } from '@nats-io/jwt';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { application, microservice, natsAccount, natsOperator, natsRule, natsUser, secret } from '../../../db/schema/index';
import { withTransaction } from '../../../db/tx';
import type { AppCtx } from '../../context';
import { ServiceError, conflict, invalid, notFound } from '../../errors';
import { createAccount, createOperator, createUser, fromSeed } from './keys';
import {
  PREDEFINED_ACCOUNT_RULES,
  PREDEFINED_USER_RULES,
  accountClaims,
  checkLatin1,
  slug,
  userClaims,
  type AccountRule,
  type UserRule,
} from './rules';
import type { AccountRuleViewT, AccountUserT, AccountViewT, UserRuleViewT, UserViewT, UserWithContextT } from './schemas';

/**
 * The NATS trust chain: operator → accounts → users, as NATS JWT v2 (ed25519-nkey).
 * Created on first need, never at boot. Seeds and creds are encrypted secrets under the spec's names;
 * key generation and signing happen before the write transaction, which only stores the results.
 */

export const OPERATOR_NAME = 'iofog-operator';
export const SYSTEM_ACCOUNT = 'SYS';
export const CONTROLLER_ACCOUNT = 'controller';
export const CONTROLLER_USER = 'controller';

type AccountRow = typeof natsAccount.$inferSelect;
type UserRow = typeof natsUser.$inferSelect;
const enc = new TextEncoder();
const dec = new TextDecoder();
const nowSec = (ctx: AppCtx) => Math.floor(ctx.clock.now() / 1000);

// ---- secrets (encrypted like every secret: AAD `secret:{name}`) ----

export async function sealSecret(ctx: AppCtx, name: string, data: Record<string, string>): Promise<string> {
  return ctx.vault.encrypt(JSON.stringify(data), `secret:${name}`);
}

export async function putSecret(tx: AppCtx, name: string, dataEnc: string): Promise<void> {
  const now = tx.clock.now();
  const [row] = await tx.db.select({ id: secret.id }).from(secret).where(eq(secret.name, name)).limit(1);
  if (row) await tx.db.update(secret).set({ dataEnc, updatedAt: now }).where(eq(secret.id, row.id));
  else await tx.db.insert(secret).values({ name, type: 'Opaque', dataEnc, createdAt: now, updatedAt: now });
}

async function readSecret(ctx: AppCtx, name: string): Promise<Record<string, string> | undefined> {
  const [row] = await ctx.db.select().from(secret).where(eq(secret.name, name)).limit(1);
  if (!row) return undefined;
  return JSON.parse(await ctx.vault.decrypt(row.dataEnc, `secret:${name}`)) as Record<string, string>;
}

export async function keyFrom(ctx: AppCtx, secretName: string): Promise<KeyPair> {
  const data = await readSecret(ctx, secretName);
  if (!data?.seed) throw new ServiceError('INTERNAL', `NATS seed secret ${secretName} is missing`);
  return fromSeed(enc.encode(data.seed));
}

export const seedOf = (kp: KeyPair) => dec.decode(kp.getSeed());

// ---- rules ----

/** Upserts the predefined rules; edits to them are overwritten, because the Controller relies on what they grant. */
export async function ensurePredefinedRules(ctx: AppCtx): Promise<void> {
  const want = [
    ...Object.values(PREDEFINED_ACCOUNT_RULES).map((r) => ({ kind: 'account' as const, name: r.name, spec: JSON.stringify(r) })),
    ...Object.values(PREDEFINED_USER_RULES).map((r) => ({ kind: 'user' as const, name: r.name, spec: JSON.stringify(r) })),
  ];
  const have = await ctx.db
    .select({ kind: natsRule.kind, name: natsRule.name, spec: natsRule.spec })
    .from(natsRule)
    .where(eq(natsRule.isPredefined, true));
  const missing = want.filter((w) => !have.some((h) => h.kind === w.kind && h.name === w.name && h.spec === w.spec));
  if (missing.length === 0) return;
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    for (const w of missing) {
      await tx.db
        .insert(natsRule)
        .values({ ...w, isPredefined: true, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [natsRule.kind, natsRule.name], set: { spec: w.spec, isPredefined: true, updatedAt: now } });
    }
  });
}

export async function ruleSpec<K extends 'account' | 'user'>(
  ctx: AppCtx,
  kind: K,
  name: string,
): Promise<K extends 'account' ? AccountRule : UserRule> {
  const [row] = await ctx.db
    .select({ spec: natsRule.spec })
    .from(natsRule)
    .where(and(eq(natsRule.kind, kind), eq(natsRule.name, name)))
    .limit(1);
  if (!row) {
    const builtIn = kind === 'account' ? PREDEFINED_ACCOUNT_RULES[name] : PREDEFINED_USER_RULES[name];
    if (builtIn) return builtIn as never;
    throw invalid(`natsRule: no ${kind} rule named ${name}`);
  }
  return JSON.parse(row.spec) as never;
}

// ---- operator and accounts ----

/** The operator (created on first need, with the system account). */
export async function ensureOperator(ctx: AppCtx): Promise<{ row: typeof natsOperator.$inferSelect; kp: KeyPair }> {
  const [existing] = await ctx.db.select().from(natsOperator).limit(1);
  if (existing) {
    const op = { row: existing, kp: await keyFrom(ctx, existing.seedSecretName) };
    // Another instance may have created the operator and not yet its system account.
    const [sys] = await ctx.db.select({ id: natsAccount.id }).from(natsAccount).where(eq(natsAccount.name, SYSTEM_ACCOUNT)).limit(1);
    if (!sys)
      await ensureAccount(
        ctx,
        { name: SYSTEM_ACCOUNT, isSystem: true, ruleName: 'default-system-account', seedSecretName: 'nats-system-account-seed' },
        op,
      );
    return op;
  }
  await ensurePredefinedRules(ctx);
  const kp = createOperator();
  const jwt = await encodeOperator(OPERATOR_NAME, kp);
  const sealed = await sealSecret(ctx, 'nats-operator-seed', { seed: seedOf(kp) });
  await withTransaction(ctx, async (tx) => {
    const [again] = await tx.db.select({ id: natsOperator.id }).from(natsOperator).limit(1);
    if (again) return; // another request or instance won
    const now = tx.clock.now();
    await putSecret(tx, 'nats-operator-seed', sealed);
    await tx.db.insert(natsOperator).values({
      name: OPERATOR_NAME,
      publicKey: kp.getPublicKey(),
      jwt,
      seedSecretName: 'nats-operator-seed',
      createdAt: now,
      updatedAt: now,
    });
  });
  const [row] = await ctx.db.select().from(natsOperator).limit(1);
  const op = { row: row!, kp: await keyFrom(ctx, row!.seedSecretName) };
  await ensureAccount(
    ctx,
    { name: SYSTEM_ACCOUNT, isSystem: true, ruleName: 'default-system-account', seedSecretName: 'nats-system-account-seed' },
    op,
  );
  return op;
}

export async function signAccount(
  ctx: AppCtx,
  opKp: KeyPair,
  name: string,
  akp: KeyPair,
  ruleName: string,
  revocations: Record<string, number>,
): Promise<string> {
  return encodeAccount(name, akp, accountClaims(await ruleSpec(ctx, 'account', ruleName), revocations), { signer: opKp });
}

/** An account (idempotent by name). */
export async function ensureAccount(
  ctx: AppCtx,
  a: { name: string; isSystem?: boolean; applicationId?: number | null; ruleName: string; seedSecretName?: string },
  operator?: { row: typeof natsOperator.$inferSelect; kp: KeyPair },
): Promise<AccountRow> {
  const [existing] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.name, a.name)).limit(1);
  if (existing) return existing;
  const op = operator ?? (await ensureOperator(ctx));
  const akp = createAccount();
  const jwt = await signAccount(ctx, op.kp, a.name, akp, a.ruleName, {});
  const seedSecretName = a.seedSecretName ?? `nats-account-seed-${slug(a.name)}`;
  const sealed = await sealSecret(ctx, seedSecretName, { seed: seedOf(akp) });
  await withTransaction(ctx, async (tx) => {
    const [again] = await tx.db.select({ id: natsAccount.id }).from(natsAccount).where(eq(natsAccount.name, a.name)).limit(1);
    if (again) return;
    const now = tx.clock.now();
    await putSecret(tx, seedSecretName, sealed);
    await tx.db.insert(natsAccount).values({
      name: a.name,
      publicKey: akp.getPublicKey(),
      jwt,
      seedSecretName,
      operatorId: op.row.id,
      isSystem: a.isSystem ?? false,
      applicationId: a.applicationId ?? null,
      ruleName: a.ruleName,
      createdAt: now,
      updatedAt: now,
    });
  });
  const [row] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.name, a.name)).limit(1);
  return row!;
}

/** Re-signs an account JWT from its rule, carrying the revocations over. */
async function resign(ctx: AppCtx, acc: AccountRow, revocations: Record<string, number>): Promise<string> {
  const op = await ensureOperator(ctx);
  return signAccount(ctx, op.kp, acc.name, await keyFrom(ctx, acc.seedSecretName), acc.ruleName, revocations);
}

/** `:appName` of the NATS routes: an application's account, or a non-application account by name (SYS, controller). */
export async function resolveAccount(ctx: AppCtx, appName: string): Promise<AccountRow> {
  const [app] = await ctx.db.select({ id: application.id }).from(application).where(eq(application.name, appName)).limit(1);
  if (app) {
    const [acc] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.applicationId, app.id)).limit(1);
    if (acc) return acc;
  }
  const [byName] = await ctx.db
    .select()
    .from(natsAccount)
    .where(and(eq(natsAccount.name, appName), isNull(natsAccount.applicationId)))
    .limit(1);
  if (byName) return byName;
  throw notFound(app ? `NATS account of application ${appName} (NATS is not enabled for it)` : `Application or NATS account ${appName}`);
}

/** POST /nats/accounts/:appName — enable NATS for an application. */
export async function enableApplicationAccount(ctx: AppCtx, appName: string, ruleName = 'default-account'): Promise<AccountRow> {
  const [app] = await ctx.db
    .select({ id: application.id, name: application.name })
    .from(application)
    .where(eq(application.name, appName))
    .limit(1);
  if (!app) throw notFound(`Application ${appName}`);
  const [acc] = await ctx.db.select({ id: natsAccount.id }).from(natsAccount).where(eq(natsAccount.applicationId, app.id)).limit(1);
  if (acc) throw invalid(`NATS is already enabled for application ${appName}`);
  const [clash] = await ctx.db.select({ id: natsAccount.id }).from(natsAccount).where(eq(natsAccount.name, app.name)).limit(1);
  if (clash) throw invalid(`name: ${app.name} is a reserved NATS account name`);
  await ruleSpec(ctx, 'account', ruleName);
  return ensureAccount(ctx, { name: app.name, applicationId: app.id, ruleName });
}

// ---- users ----

export const credsSecretName = (acc: string, user: string) => `nats-creds-${slug(acc)}-${slug(user)}`;
export const credsKey = (acc: string, user: string) => `${slug(acc, 64)}/${slug(user, 64)}.creds`;

/** `expiresIn`: `^\d+[hdm]$`, at most 26280 h / 1095 d / 36 m (m = 30-day months). */
export function expiresInSeconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)([hdm])$/.exec(v);
  if (!m || v.length > 8) throw invalid('expiresIn: must look like 24h, 30d or 6m (m = months of 30 days)');
  const n = Number(m[1]);
  const max = { h: 26280, d: 1095, m: 36 }[m[2] as 'h' | 'd' | 'm'];
  if (n < 1 || n > max) throw invalid(`expiresIn: at most ${max}${m[2]}`);
  return n * { h: 3600, d: 86_400, m: 30 * 86_400 }[m[2] as 'h' | 'd' | 'm'];
}

/** Issues a user in `acc`; its creds (not for bearer users) go to `nats-creds-{acc}-{user}`. */
export async function issueUser(
  ctx: AppCtx,
  acc: AccountRow,
  u: { name: string; ruleName: string; bearer?: boolean; expiresIn?: string; microserviceUuid?: string | null },
): Promise<UserRow> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(u.name))
    throw invalid('name: 1–255 characters of letters, digits, ".", "_" or "-", starting with a letter or digit');
  const rule = await ruleSpec(ctx, 'user', u.ruleName);
  const ttl = expiresInSeconds(u.expiresIn);
  const [dup] = await ctx.db
    .select({ id: natsUser.id })
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, u.name)))
    .limit(1);
  if (dup) throw conflict(`NATS user ${u.name} already exists in account ${acc.name}`);
  const akp = await keyFrom(ctx, acc.seedSecretName);
  const ukp = createUser();
  const exp = ttl ? nowSec(ctx) + ttl : undefined;
  const claims = { ...userClaims(rule), ...(u.bearer ? { bearer_token: true } : {}) };
  const jwt = await encodeUser(u.name, ukp, akp, claims, exp ? { exp } : {});
  const secretName = u.bearer ? null : credsSecretName(acc.name, u.name);
  const sealed = secretName
    ? await sealSecret(ctx, secretName, { [credsKey(acc.name, u.name)]: dec.decode(fmtCreds(jwt, ukp)) })
    : undefined;
  await withTransaction(ctx, async (tx) => {
    const [again] = await tx.db
      .select({ id: natsUser.id })
      .from(natsUser)
      .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, u.name)))
      .limit(1);
    if (again) throw conflict(`NATS user ${u.name} already exists in account ${acc.name}`);
    const now = tx.clock.now();
    if (secretName && sealed) await putSecret(tx, secretName, sealed);
    await tx.db.insert(natsUser).values({
      name: u.name,
      publicKey: ukp.getPublicKey(),
      jwt,
      accountId: acc.id,
      microserviceUuid: u.microserviceUuid ?? null,
      isBearer: u.bearer ?? false,
      ruleName: u.ruleName,
      credsSecretName: secretName,
      expiresAt: exp ? exp * 1000 : null,
      createdAt: now,
      updatedAt: now,
    });
  });
  const [row] = await ctx.db
    .select()
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, u.name)))
    .limit(1);
  return row!;
}

/**
 * Deletes a user: its public key is revoked on the account (revocations[key] = now) and the account
 * is re-signed, so a server with the new account JWT refuses it; its creds secret goes too.
 */
export async function deleteUser(ctx: AppCtx, appName: string, userName: string, opts: { bearer: boolean }): Promise<void> {
  const acc = await resolveAccount(ctx, appName);
  const [u] = await ctx.db
    .select()
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, userName)))
    .limit(1);
  if (!u) throw notFound(`NATS user ${userName} in account ${acc.name}`);
  if (acc.isSystem || acc.isLeafSystem) throw invalid(`${userName} is a system user and cannot be deleted`);
  if (acc.name === CONTROLLER_ACCOUNT && userName === CONTROLLER_USER) throw invalid('the controller relay user cannot be deleted');
  if (u.microserviceUuid) {
    const [ms] = await ctx.db
      .select({ uuid: microservice.uuid })
      .from(microservice)
      .where(eq(microservice.uuid, u.microserviceUuid))
      .limit(1);
    if (ms) throw invalid(`NATS user ${userName} belongs to microservice ${u.microserviceUuid}; disable its NATS access instead`);
  }
  if (opts.bearer !== u.isBearer)
    throw invalid(
      opts.bearer
        ? `${userName} is not an MQTT bearer user`
        : `${userName} is an MQTT bearer user: DELETE /nats/accounts/${appName}/mqtt-bearer/${userName}`,
    );
  const revocations = { ...(JSON.parse(acc.revocations) as Record<string, number>), [u.publicKey]: nowSec(ctx) };
  const jwt = await resign(ctx, acc, revocations);
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(natsUser).where(eq(natsUser.id, u.id));
    if (u.credsSecretName) await tx.db.delete(secret).where(eq(secret.name, u.credsSecretName));
    await tx.db
      .update(natsAccount)
      .set({ jwt, revocations: JSON.stringify(revocations), updatedAt: tx.clock.now() })
      .where(eq(natsAccount.id, acc.id));
  });
}

/** Revokes and removes a user (the core of deleteUser, for users the Controller manages itself). */
export async function revokeUser(ctx: AppCtx, acc: AccountRow, u: UserRow): Promise<void> {
  const [fresh] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.id, acc.id)).limit(1);
  const revocations = { ...(JSON.parse((fresh ?? acc).revocations) as Record<string, number>), [u.publicKey]: nowSec(ctx) };
  const jwt = await resign(ctx, fresh ?? acc, revocations);
  await withTransaction(ctx, async (tx) => {
    await tx.db.delete(natsUser).where(eq(natsUser.id, u.id));
    if (u.credsSecretName) await tx.db.delete(secret).where(eq(secret.name, u.credsSecretName));
    await tx.db
      .update(natsAccount)
      .set({ jwt, revocations: JSON.stringify(revocations), updatedAt: tx.clock.now() })
      .where(eq(natsAccount.id, acc.id));
  });
}

/** The `.creds` text of a user (GET …/creds). */
export async function userCreds(ctx: AppCtx, appName: string, userName: string): Promise<string> {
  const acc = await resolveAccount(ctx, appName);
  const [u] = await ctx.db
    .select()
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, userName)))
    .limit(1);
  if (!u) throw notFound(`NATS user ${userName} in account ${acc.name}`);
  if (!u.credsSecretName) throw notFound(`Creds of ${userName} (an MQTT bearer user has a JWT only)`);
  const data = await readSecret(ctx, u.credsSecretName);
  const text = data ? Object.values(data)[0] : undefined;
  if (!text) throw notFound(`Creds secret ${u.credsSecretName}`);
  return text;
}

/**
 * The relay identity: account `controller` (rule `controller-account`) and user
 * `controller` (rule `controller-user`), created on first relay use; returns the creds text.
 */
export async function ensureControllerCreds(ctx: AppCtx): Promise<string> {
  await ensureOperator(ctx);
  const acc = await ensureAccount(ctx, { name: CONTROLLER_ACCOUNT, ruleName: 'controller-account' });
  const [u] = await ctx.db
    .select({ id: natsUser.id })
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, CONTROLLER_USER)))
    .limit(1);
  if (!u) {
    try {
      await issueUser(ctx, acc, { name: CONTROLLER_USER, ruleName: 'controller-user' });
    } catch (err) {
      if (!(err instanceof ServiceError && err.code === 'CONFLICT')) throw err; // another instance issued it
    }
  }
  return userCreds(ctx, CONTROLLER_ACCOUNT, CONTROLLER_USER);
}

/**
 * POST /nats/operator/rotate: a new operator key and JWT; every account JWT is re-signed
 * by it with its rule and its revocations. Account and user keys stay, so user creds remain valid once
 * a server has the new operator JWT and account JWTs.
 */
export async function rotateOperator(ctx: AppCtx): Promise<typeof natsOperator.$inferSelect> {
  const current = await ensureOperator(ctx);
  const kp = createOperator();
  const jwt = await encodeOperator(OPERATOR_NAME, kp);
  const accounts = await ctx.db.select().from(natsAccount);
  const signed: Array<{ id: number; jwt: string }> = [];
  for (const acc of accounts) {
    signed.push({
      id: acc.id,
      jwt: await signAccount(
        ctx,
        kp,
        acc.name,
        await keyFrom(ctx, acc.seedSecretName),
        acc.ruleName,
        JSON.parse(acc.revocations) as Record<string, number>,
      ),
    });
  }
  const sealed = await sealSecret(ctx, current.row.seedSecretName, { seed: seedOf(kp) });
  await withTransaction(ctx, async (tx) => {
    const now = tx.clock.now();
    const ids = (await tx.db.select({ id: natsAccount.id }).from(natsAccount)).map((a) => a.id);
    if (ids.length !== signed.length || ids.some((id) => !signed.some((x) => x.id === id))) {
      throw conflict('NATS accounts changed while the operator was being rotated; nothing was changed, retry');
    }
    await putSecret(tx, current.row.seedSecretName, sealed);
    await tx.db.update(natsOperator).set({ publicKey: kp.getPublicKey(), jwt, updatedAt: now }).where(eq(natsOperator.id, current.row.id));
    for (const a of signed) await tx.db.update(natsAccount).set({ jwt: a.jwt, updatedAt: now }).where(eq(natsAccount.id, a.id));
  });
  const [row] = await ctx.db.select().from(natsOperator).where(eq(natsOperator.id, current.row.id)).limit(1);
  return row!;
}

// ---- rule changes ----

/** After a rule's content changed: re-sign its accounts / re-issue its users (creds replaced). */
export async function applyRuleChange(ctx: AppCtx, kind: 'account' | 'user', ruleName: string): Promise<number> {
  if (kind === 'account') {
    const accounts = await ctx.db.select().from(natsAccount).where(eq(natsAccount.ruleName, ruleName));
    for (const acc of accounts) {
      const jwt = await resign(ctx, acc, JSON.parse(acc.revocations) as Record<string, number>);
      await withTransaction(ctx, (tx) =>
        tx.db.update(natsAccount).set({ jwt, updatedAt: tx.clock.now() }).where(eq(natsAccount.id, acc.id)),
      );
    }
    return accounts.length;
  }
  const users = await ctx.db.select().from(natsUser).where(eq(natsUser.ruleName, ruleName));
  const rule = await ruleSpec(ctx, 'user', ruleName);
  for (const u of users) {
    const [acc] = await ctx.db.select().from(natsAccount).where(eq(natsAccount.id, u.accountId)).limit(1);
    if (!acc) continue;
    // The user keeps its key (its creds file stays valid); only the claims change.
    const data = u.credsSecretName ? await readSecret(ctx, u.credsSecretName) : undefined;
    const seedMatch = data ? /-----BEGIN USER NKEY SEED-----\s*(\S+)\s*-----/.exec(Object.values(data)[0] ?? '') : null;
    if (!seedMatch && !u.isBearer) continue;
    const akp = await keyFrom(ctx, acc.seedSecretName);
    const ukp = seedMatch ? fromSeed(enc.encode(seedMatch[1]!)) : undefined;
    const subject = ukp ?? { getPublicKey: () => u.publicKey };
    const jwt = await encodeUser(
      u.name,
      subject as KeyPair,
      akp,
      { ...userClaims(rule), ...(u.isBearer ? { bearer_token: true } : {}) },
      u.expiresAt ? { exp: Math.floor(u.expiresAt / 1000) } : {},
    );
    const sealed =
      ukp && u.credsSecretName
        ? await sealSecret(ctx, u.credsSecretName, { [credsKey(acc.name, u.name)]: dec.decode(fmtCreds(jwt, ukp)) })
        : undefined;
    await withTransaction(ctx, async (tx) => {
      await tx.db.update(natsUser).set({ jwt, updatedAt: tx.clock.now() }).where(eq(natsUser.id, u.id));
      if (sealed && u.credsSecretName) await putSecret(tx, u.credsSecretName, sealed);
    });
  }
  return users.length;
}

// ---- listings ----

export async function listAccounts(ctx: AppCtx) {
  const rows = await ctx.db.select().from(natsAccount).orderBy(asc(natsAccount.id));
  return rows.map(accountView);
}

export const accountView = (a: AccountRow): AccountViewT => ({
  id: a.id,
  name: a.name,
  publicKey: a.publicKey,
  jwt: a.jwt,
  isSystem: a.isSystem,
  isLeafSystem: a.isLeafSystem,
  applicationId: a.applicationId,
  natsRule: a.ruleName,
});

export const userView = (u: UserRow, acc?: AccountRow): UserViewT => ({
  id: u.id,
  name: u.name,
  publicKey: u.publicKey,
  jwt: u.jwt,
  isBearer: u.isBearer,
  natsRule: u.ruleName,
  ...(u.expiresAt ? { expiresAt: new Date(u.expiresAt).toISOString() } : {}),
  ...(acc ? { accountId: acc.id, accountName: acc.name } : {}),
});

export async function listAccountUsers(ctx: AppCtx, appName: string): Promise<AccountUserT[]> {
  const acc = await resolveAccount(ctx, appName);
  const rows = await ctx.db.select().from(natsUser).where(eq(natsUser.accountId, acc.id)).orderBy(asc(natsUser.id));
  return rows.map((u) => ({ id: u.id, name: u.name, publicKey: u.publicKey, jwt: u.jwt, isBearer: u.isBearer }));
}

export async function listUsers(ctx: AppCtx): Promise<UserWithContextT[]> {
  const rows = await ctx.db.select().from(natsUser).orderBy(asc(natsUser.id));
  const accounts = rows.length
    ? await ctx.db
        .select()
        .from(natsAccount)
        .where(inArray(natsAccount.id, [...new Set(rows.map((r) => r.accountId))]))
    : [];
  const appIds = accounts.map((a) => a.applicationId).filter((x): x is number => x !== null);
  const apps = appIds.length
    ? await ctx.db.select({ id: application.id, name: application.name }).from(application).where(inArray(application.id, appIds))
    : [];
  return rows.map((u) => {
    const acc = accounts.find((a) => a.id === u.accountId)!;
    return {
      id: u.id,
      name: u.name,
      publicKey: u.publicKey,
      jwt: u.jwt,
      isBearer: u.isBearer,
      accountId: acc.id,
      accountName: acc.name,
      applicationId: acc.applicationId,
      applicationName: apps.find((a) => a.id === acc.applicationId)?.name ?? null,
      microserviceUuid: u.microserviceUuid,
    };
  });
}

// ---- rule CRUD ----

type RuleView<K extends 'account' | 'user'> = K extends 'account' ? AccountRuleViewT : UserRuleViewT;

export async function listRules<K extends 'account' | 'user'>(ctx: AppCtx, kind: K): Promise<RuleView<K>[]> {
  await ensurePredefinedRules(ctx);
  const rows = await ctx.db.select().from(natsRule).where(eq(natsRule.kind, kind)).orderBy(asc(natsRule.id));
  // The stored spec was validated by the rule schema when it was written (or is a predefined rule).
  return rows.map((r) => ({ ...(JSON.parse(r.spec) as object), name: r.name, isPredefined: r.isPredefined }) as RuleView<K>);
}

const PREDEFINED = (kind: 'account' | 'user') => (kind === 'account' ? PREDEFINED_ACCOUNT_RULES : PREDEFINED_USER_RULES);

export async function createRule<K extends 'account' | 'user'>(
  ctx: AppCtx,
  kind: K,
  spec: K extends 'account' ? AccountRule : UserRule,
): Promise<RuleView<K>> {
  checkLatin1(spec);
  if (PREDEFINED(kind)[spec.name]) throw invalid(`name: ${spec.name} is a predefined rule`);
  kind === 'account' ? accountClaims(spec as AccountRule, {}) : userClaims(spec as UserRule); // validates sizes
  await withTransaction(ctx, async (tx) => {
    const [dup] = await tx.db
      .select({ id: natsRule.id })
      .from(natsRule)
      .where(and(eq(natsRule.kind, kind), eq(natsRule.name, spec.name)))
      .limit(1);
    if (dup) throw conflict(`NATS ${kind} rule ${spec.name} already exists`);
    const now = tx.clock.now();
    await tx.db.insert(natsRule).values({ kind, name: spec.name, spec: JSON.stringify(spec), createdAt: now, updatedAt: now });
  });
  return { ...spec, isPredefined: false } as RuleView<K>;
}

export async function updateRule<K extends 'account' | 'user'>(
  ctx: AppCtx,
  kind: K,
  name: string,
  spec: Partial<K extends 'account' ? AccountRule : UserRule>,
): Promise<RuleView<K>> {
  checkLatin1(spec);
  if (PREDEFINED(kind)[name]) throw invalid(`${name} is a predefined rule and cannot be changed`);
  if (spec.name !== undefined && spec.name !== name) throw invalid(`name: must be ${name} (rules cannot be renamed)`);
  const next = { ...spec, name };
  kind === 'account' ? accountClaims(next as AccountRule, {}) : userClaims(next as UserRule);
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db
      .update(natsRule)
      .set({ spec: JSON.stringify(next), updatedAt: tx.clock.now() })
      .where(and(eq(natsRule.kind, kind), eq(natsRule.name, name)));
    if (r.rowsAffected === 0) throw notFound(`NATS ${kind} rule ${name}`);
  });
  await applyRuleChange(ctx, kind, name);
  return { ...next, isPredefined: false } as RuleView<K>;
}

/** Deletes a custom rule; its accounts/users fall back to `default-account` / `default-user` and are re-issued. */
export async function deleteRule(ctx: AppCtx, kind: 'account' | 'user', name: string): Promise<void> {
  if (PREDEFINED(kind)[name]) throw invalid(`${name} is a predefined rule and cannot be deleted`);
  const fallback = kind === 'account' ? 'default-account' : 'default-user';
  await withTransaction(ctx, async (tx) => {
    const r = await tx.db.delete(natsRule).where(and(eq(natsRule.kind, kind), eq(natsRule.name, name)));
    if (r.rowsAffected === 0) throw notFound(`NATS ${kind} rule ${name}`);
    if (kind === 'account') await tx.db.update(natsAccount).set({ ruleName: fallback }).where(eq(natsAccount.ruleName, name));
    else await tx.db.update(natsUser).set({ ruleName: fallback }).where(eq(natsUser.ruleName, name));
  });
  await applyRuleChange(ctx, kind, fallback);
}
