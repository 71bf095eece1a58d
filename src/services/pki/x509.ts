import type * as X509 from '@peculiar/x509';
import { invalid } from '../../errors';
import { cjsModule } from '../../lib/interop';

/**
 * @peculiar/x509 (with its ASN.1 schemas, decorators and reflect-metadata) is the largest thing the
 * server would evaluate at start, and most starts issue no certificate at all: it is loaded on the first
 * certificate operation. Every exported function that needs it awaits `lib()` first.
 */
let x509: typeof X509;
let loading: Promise<typeof X509> | undefined;
function lib(): Promise<typeof X509> {
  loading ??= import('reflect-metadata').then(() => import('@peculiar/x509')).then((m) => (x509 = cjsModule(m, 'X509Certificate')));
  return loading;
}

/**
 * Certificate generation with @peculiar/x509 over WebCrypto (Node, Deno, Bun): RSA 2048, SHA-256,
 * random 128-bit serials, the extensions routers and NATS servers need (key usage, server+client EKU, SANs).
 */

const RSA: RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

export interface Issued {
  certPem: string;
  keyPem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export interface SigningCa {
  cert: X509.X509Certificate;
  key: CryptoKey;
  certPem: string;
}

/** API `expiration`: < 1000 = months (30.44 days), otherwise milliseconds. */
export function validityMs(expiration: number | undefined | null, defaultMonths: number): number {
  const e = expiration ?? defaultMonths;
  return e < 1000 ? Math.round(e * 30.44 * 86_400_000) : e;
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive
  if (b[0] === 0) b[0] = 1;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${btoa(String.fromCharCode(...new Uint8Array(der)))
    .replace(/.{64}/g, '$&\n')
    .replace(/\n?$/, '\n')}-----END ${label}-----\n`;

function cn(subject: string): string {
  // A plain name becomes the CN; an RFC 4514 string ("CN=x, O=y") is taken as is.
  return /^[A-Za-z]+=/.test(subject) ? subject : `CN=${subject.replace(/([,+"\\<>;=])/g, '\\$1')}`;
}

const isIp = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');

function sans(hosts: string[]) {
  // An IP literal is written both as an IP SAN and as a DNS SAN, as upstream does, so clients that match
  // either kind accept it.
  const names: X509.JsonGeneralName[] = [];
  for (const h of hosts) {
    if (isIp(h)) names.push({ type: 'ip', value: h }, { type: 'dns', value: h });
    else names.push({ type: 'dns', value: h });
  }
  return new x509.SubjectAlternativeNameExtension(names);
}

/** 400 naming the field for a subject or host list the certificate could not carry (checked before any key is made). */
export async function checkNames(subject: string, hosts: string[]): Promise<void> {
  await lib();
  try {
    new x509.Name(cn(subject)).toArrayBuffer();
  } catch (err) {
    throw invalid(`subject: "${subject}" is not a usable distinguished name (${(err as Error).message})`);
  }
  for (const h of hosts) {
    try {
      if (/^\d{1,3}(\.\d{1,3}){3}$/.test(h) && h.split('.').some((o) => Number(o) > 255)) throw new Error('octet above 255');
      void sans([h]).rawData;
    } catch (err) {
      throw invalid(`hosts: "${h}" is neither a DNS name nor an IP address (${(err as Error).message})`);
    }
  }
}

/**
 * RSA key generation costs tens of milliseconds of CPU per key. WebCrypto runs it off the event loop (the
 * threadpool on Node, a blocking thread on Deno and Bun), but a burst of certificates (a fleet's platform
 * reconcile) could still occupy every core and the pool threads that file and DNS work also need. At most
 * two keys are generated at once; further callers wait their turn without holding the event loop.
 */
const KEYGEN_CONCURRENCY = 2;
let keygenRunning = 0;
const keygenWaiting: Array<() => void> = [];

async function newKeys(): Promise<CryptoKeyPair> {
  if (keygenRunning >= KEYGEN_CONCURRENCY) await new Promise<void>((resolve) => keygenWaiting.push(resolve));
  else keygenRunning++;
  try {
    return (await crypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  } finally {
    // The slot passes straight to the next waiter, so the count never drops and rises again between them.
    const next = keygenWaiting.shift();
    if (next) next();
    else keygenRunning--;
  }
}

async function keyPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', key));
}

/**
 * A self-signed CA (or a self-signed leaf when `ca` is false). `now` is the caller's clock (`ctx.clock`), so the
 * validity window follows the same time as the rest of the Controller, fake clocks in tests included.
 */
export async function selfSigned(subject: string, validMs: number, opts: { ca: boolean; hosts?: string[] }, now: number): Promise<Issued> {
  await lib();
  const keys = await newKeys();
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + validMs);
  const serialNumber = serial();
  const extensions: X509.Extension[] = opts.ca
    ? [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ]
    : [...(await leafExtensions(keys.publicKey, opts.hosts ?? [], undefined))];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: cn(subject),
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: RSA,
    extensions,
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await keyPem(keys.privateKey), serialNumber, notBefore, notAfter };
}

async function leafExtensions(publicKey: CryptoKey, hosts: string[], ca: SigningCa | undefined): Promise<X509.Extension[]> {
  const ext: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (hosts.length) ext.push(sans(hosts));
  if (ca) ext.push(await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false));
  return ext;
}

/** A leaf signed by `ca`; `now` is the caller's clock, as for `selfSigned`. */
export async function signedLeaf(ca: SigningCa, subject: string, hosts: string[], validMs: number, now: number): Promise<Issued> {
  if (ca.cert.notAfter.getTime() <= now) throw invalid(`ca: the signing CA ${ca.cert.subject} has expired`);
  await lib();
  const keys = await newKeys();
  const notBefore = new Date(now - 60_000);
  // A certificate never outlives its CA.
  const notAfter = new Date(Math.min(now + validMs, ca.cert.notAfter.getTime()));
  const serialNumber = serial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: cn(subject),
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ca.key.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : RSA,
    extensions: await leafExtensions(keys.publicKey, hosts, ca),
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await keyPem(keys.privateKey), serialNumber, notBefore, notAfter };
}

// ---- import ----

function derOf(text: string, labels: string[]): { label: string; der: Uint8Array } | undefined {
  for (const label of labels) {
    const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(text);
    if (m) return { label, der: Uint8Array.from(atob(m[1]!.replace(/\s+/g, '')), (c) => c.charCodeAt(0)) };
  }
  return undefined;
}

function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n >>= 8;
  }
  return [0x80 | out.length, ...out];
}

/** PKCS#1 RSAPrivateKey → PKCS#8 PrivateKeyInfo: operators bring keys in either form, WebCrypto imports only PKCS#8. */
function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  const algId = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const octet = [0x04, ...derLen(pkcs1.length), ...pkcs1];
  const body = [0x02, 0x01, 0x00, ...algId, ...octet];
  return new Uint8Array([0x30, ...derLen(body.length), ...body]);
}

/** A CA (or signing pair) from PEM text: the certificate and its RSA or EC private key (PKCS#1 or PKCS#8). */
export async function loadCa(certPem: string, keyPemText: string, what: string): Promise<SigningCa> {
  await lib();
  let cert: X509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch {
    throw invalid(`${what}: tls.crt is not a PEM certificate`);
  }
  const k = derOf(keyPemText, ['PRIVATE KEY', 'RSA PRIVATE KEY']);
  if (!k) throw invalid(`${what}: tls.key is not a PEM private key (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY")`);
  const der = k.label === 'RSA PRIVATE KEY' ? pkcs1ToPkcs8(k.der) : k.der;
  const attempts: Array<RsaHashedImportParams | EcKeyImportParams> = [
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    { name: 'ECDSA', namedCurve: 'P-256' },
    { name: 'ECDSA', namedCurve: 'P-384' },
  ];
  for (const alg of attempts) {
    try {
      const key = await crypto.subtle.importKey('pkcs8', der as Uint8Array<ArrayBuffer>, alg, true, ['sign']);
      return { cert, key, certPem: `${cert.toString('pem')}\n` };
    } catch {
      /* next algorithm */
    }
  }
  throw invalid(`${what}: the private key is neither RSA nor EC P-256/P-384`);
}

/** Facts of a PEM certificate (for imported CAs). */
export async function describe(certPem: string) {
  await lib();
  const c = new x509.X509Certificate(certPem);
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  return { subject: c.subject, serialNumber: c.serialNumber, notBefore: c.notBefore, notAfter: c.notAfter, isCA: Boolean(bc?.ca) };
}
