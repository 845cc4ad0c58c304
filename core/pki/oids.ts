/**
 * @module pki/oids
 * The object identifiers NEAM CA reads and writes, with the names shown to people. One table, so
 * a reviewer sees every algorithm and extension the PKI engine knows.
 *
 * Must never: map two names to one OID.
 */

/** Extension OIDs (RFC 5280 §4.2, §5.2, §5.3). */
export const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  certificateIssuer: '2.5.29.29',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  inhibitAnyPolicy: '2.5.29.54',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  subjectInfoAccess: '1.3.6.1.5.5.7.1.11',
  ctPrecertPoison: '1.3.6.1.4.1.11129.2.4.3',
} as const;

/** Extended key usage purposes (RFC 5280 §4.2.1.12). */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

/** Name of an extended key usage. */
export type EkuName = keyof typeof EKU;

/** Access methods (RFC 5280 §4.2.2.1). */
export const ACCESS = { ocsp: '1.3.6.1.5.5.7.48.1', caIssuers: '1.3.6.1.5.5.7.48.2' } as const;

/** Public key algorithms. */
export const KEY_ALG = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
  dsa: '1.2.840.10040.4.1',
} as const;

/** Named curves (RFC 5480 §2.1.1.1 and SEC 2). */
export const CURVE = {
  'P-256': '1.2.840.10045.3.1.7',
  'P-384': '1.3.132.0.34',
  'P-521': '1.3.132.0.35',
  secp256k1: '1.3.132.0.10',
  'P-224': '1.3.132.0.33',
  'P-192': '1.2.840.10045.3.1.1',
} as const;

/** Signature algorithms (RFC 4055, RFC 5758). */
export const SIG_ALG = {
  sha1WithRSAEncryption: '1.2.840.113549.1.1.5',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  sha384WithRSAEncryption: '1.2.840.113549.1.1.12',
  sha512WithRSAEncryption: '1.2.840.113549.1.1.13',
  md5WithRSAEncryption: '1.2.840.113549.1.1.4',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
} as const;

/** Distinguished-name attribute types (RFC 5280 Appendix A, RFC 4519). */
export const DN_ATTR = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  serialNumber: '2.5.4.5',
  DC: '0.9.2342.19200300.100.1.25',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;

/** PKCS#9 CSR attributes. */
export const PKCS9 = { extensionRequest: '1.2.840.113549.1.9.14', challengePassword: '1.2.840.113549.1.9.7' } as const;

function invert(table: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}

const NAMES = new Map<string, string>([...invert(EXT), ...invert(EKU), ...invert(SIG_ALG), ...invert(KEY_ALG), ...invert(CURVE), ...invert(ACCESS)]);

/** A readable name of a known OID, else the dotted OID itself. */
export function oidName(oid: string): string {
  return NAMES.get(oid) ?? oid;
}

/** The short name of a DN attribute type (CN, O, …), else the dotted OID. */
export function dnAttrName(oid: string): string {
  for (const [k, v] of Object.entries(DN_ATTR)) if (v === oid) return k;
  return oid;
}
