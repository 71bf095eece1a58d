import { encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createUser } from './keys';
import { and, eq } from 'drizzle-orm';
import { natsAccount, natsUser, volumeMount } from '../../../db/schema/index';
import type { AppCtx } from '../../context';
import { linkMountsToFog } from '../config/resources';
import { credsKey, credsSecretName, ensureOperator, keyFrom, putSecret, ruleSpec, sealSecret, seedOf, signAccount } from './auth';
import { slug, userClaims } from './rules';

/**
 * NATS access of workloads, written with the microservice itself. An operator who deploys an application
 * with `natsConfig.natsAccess` expects its creds to exist when the deploy answers (v3.8 creates them in
 * the same transaction), not once the fog reconcile got round to it. Keys are generated and JWTs signed
 * here, before the caller's transaction opens; `writeWorkloadNats` only stores the results inside it.
 * Whatever cannot be written as prepared (another request created the account meanwhile) is left to the
 * fog reconcile, which issues the same user idempotently.
 */

const dec = new TextDecoder();
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

interface PreparedUser {
  publicKey: string;
  jwt: string;
  ruleName: string;
  credsSecretName: string;
  sealedCreds: string;
}

export interface PreparedNats {
  /** The account the users were signed by: an existing one, or a new one to insert with the first user. */
  account:
    | { kind: 'existing'; id: number; publicKey: string }
    | {
        kind: 'new';
        name: string;
        publicKey: string;
        jwt: string;
        ruleName: string;
        operatorId: number;
        seedSecretName: string;
        sealedSeed: string;
      };
  users: Map<string, PreparedUser>;
}

/**
 * Prepares the account of application `app` (found by id, or made for a new application) and one user per
 * NATS-enabled microservice name. Returns undefined when there is nothing to prepare.
 */
export async function prepareWorkloadNats(
  ctx: AppCtx,
  app: { id?: number; name: string; natsRule: string | null },
  workloads: Array<{ name: string; natsRule: string | null }>,
): Promise<PreparedNats | undefined> {
  const wanted = workloads.filter((w) => USER_NAME.test(w.name));
  if (wanted.length === 0) return undefined;
  const op = await ensureOperator(ctx);
  const [existing] =
    app.id !== undefined ? await ctx.db.select().from(natsAccount).where(eq(natsAccount.applicationId, app.id)).limit(1) : [];
  let account: PreparedNats['account'];
  let akp;
  if (existing) {
    account = { kind: 'existing', id: existing.id, publicKey: existing.publicKey };
    akp = await keyFrom(ctx, existing.seedSecretName);
  } else {
    // The same account the fog reconcile would make: named after the application, with its account rule.
    const ruleName = app.natsRule ?? 'default-account';
    akp = createAccount();
    const seedSecretName = `nats-account-seed-${slug(app.name)}`;
    account = {
      kind: 'new',
      name: app.name,
      publicKey: akp.getPublicKey(),
      jwt: await signAccount(ctx, op.kp, app.name, akp, ruleName, {}),
      ruleName,
      operatorId: op.row.id,
      seedSecretName,
      sealedSeed: await sealSecret(ctx, seedSecretName, { seed: seedOf(akp) }),
    };
  }
  const users = new Map<string, PreparedUser>();
  for (const w of wanted) {
    const ruleName = w.natsRule ?? 'default-user';
    const ukp = createUser();
    const jwt = await encodeUser(w.name, ukp, akp, userClaims(await ruleSpec(ctx, 'user', ruleName)));
    const secretName = credsSecretName(app.name, w.name);
    users.set(w.name, {
      publicKey: ukp.getPublicKey(),
      jwt,
      ruleName,
      credsSecretName: secretName,
      sealedCreds: await sealSecret(ctx, secretName, { [credsKey(app.name, w.name)]: dec.decode(fmtCreds(jwt, ukp)) }),
    });
  }
  return { account, users };
}

/**
 * Inside the microservice's write transaction: the application account (when new), the microservice's
 * user, its creds secret, and the creds volume mount linked to the fog (which raises `volumeMounts`).
 */
export async function writeWorkloadNats(
  tx: AppCtx,
  prepared: PreparedNats | undefined,
  app: { id: number; name: string },
  ms: { uuid: string; name: string },
  fogUuid: string | null | undefined,
): Promise<void> {
  const u = prepared?.users.get(ms.name);
  if (!prepared || !u || !fogUuid) return;
  const now = tx.clock.now();
  let [acc] = await tx.db.select().from(natsAccount).where(eq(natsAccount.applicationId, app.id)).limit(1);
  if (!acc) {
    if (prepared.account.kind !== 'new') return;
    const [clash] = await tx.db
      .select({ id: natsAccount.id })
      .from(natsAccount)
      .where(eq(natsAccount.name, prepared.account.name))
      .limit(1);
    if (clash) return;
    const a = prepared.account;
    await putSecret(tx, a.seedSecretName, a.sealedSeed);
    [acc] = await tx.db
      .insert(natsAccount)
      .values({
        name: a.name,
        publicKey: a.publicKey,
        jwt: a.jwt,
        seedSecretName: a.seedSecretName,
        operatorId: a.operatorId,
        isSystem: false,
        applicationId: app.id,
        ruleName: a.ruleName,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
  }
  // Signed by another account key than the one stored (made concurrently): the reconcile issues it.
  if (!acc || acc.publicKey !== prepared.account.publicKey) return;
  const [dup] = await tx.db
    .select({ id: natsUser.id })
    .from(natsUser)
    .where(and(eq(natsUser.accountId, acc.id), eq(natsUser.name, ms.name)))
    .limit(1);
  if (dup) return;
  await putSecret(tx, u.credsSecretName, u.sealedCreds);
  await tx.db.insert(natsUser).values({
    name: ms.name,
    publicKey: u.publicKey,
    jwt: u.jwt,
    accountId: acc.id,
    microserviceUuid: ms.uuid,
    isBearer: false,
    ruleName: u.ruleName,
    credsSecretName: u.credsSecretName,
    expiresAt: null,
    createdAt: now,
    updatedAt: now,
  });
  const [mount] = await tx.db.select({ uuid: volumeMount.uuid }).from(volumeMount).where(eq(volumeMount.name, u.credsSecretName)).limit(1);
  if (!mount) {
    await tx.db.insert(volumeMount).values({
      uuid: tx.ids.uuid(),
      name: u.credsSecretName,
      secretName: u.credsSecretName,
      configMapName: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
  }
  await linkMountsToFog(tx, [u.credsSecretName], fogUuid);
}
