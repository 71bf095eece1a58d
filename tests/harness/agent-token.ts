import { SignJWT, importJWK, type JWK } from 'jose';

/** Signs agent tokens the way Edgelet does, for in-process API tests. */
export class AgentSigner {
  private constructor(
    readonly uuid: string,
    private readonly key: CryptoKey,
  ) {}

  static async fromProvision(res: { uuid: string; privateKey: string }): Promise<AgentSigner> {
    const jwk = JSON.parse(Buffer.from(res.privateKey, 'base64').toString('utf8')) as JWK;
    return new AgentSigner(res.uuid, (await importJWK(jwk, 'EdDSA')) as CryptoKey);
  }

  async token(
    opts: { sub?: string | null; jti?: string | null; iat?: number; exp?: number; nbf?: number; key?: CryptoKey } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { tokenUse: 'controller' };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer('https://edgelet.default.svc.bridge.local')
      .setAudience(['http://127.0.0.1/api/v3'])
      .setIssuedAt(opts.iat ?? now)
      .setNotBefore(opts.nbf ?? opts.iat ?? now)
      .setExpirationTime(opts.exp ?? now + 600);
    if (opts.sub !== null) jwt.setSubject(opts.sub ?? this.uuid);
    if (opts.jti !== null) jwt.setJti(opts.jti ?? crypto.randomUUID());
    return jwt.sign(opts.key ?? this.key);
  }
}
