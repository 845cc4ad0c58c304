/**
 * @module online/crl
 * The CRL of one online intermediate (RFC 5280 §5): version 2, issuer = the intermediate's
 * subject, thisUpdate/nextUpdate, one entry per unexpired revoked certificate with its
 * revocation date and reasonCode, and the authorityKeyIdentifier and cRLNumber extensions.
 * Prepare and sign are split so the same code serves software keys and token keys.
 *
 * Interim: core/pki's CRL builder (prepare/sign split) replaces `prepareCrl` once it is on main;
 * the publication schedule and the numbering stay here.
 *
 * Must never: sign a CRL whose number does not increase, or list a serial twice.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  CRLNumber,
  CRLReason,
  Extension,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  KeyIdentifier,
  Name,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
} from '@peculiar/asn1-x509';

import type { SignAlgorithm } from '../hsm/types.ts';
import { seq, tlv } from './der.ts';
import { signatureAlgorithmDer } from './svid-template.ts';

/** What goes into a CRL. */
export interface CrlContent {
  readonly issuerSubjectDer: Buffer;
  readonly issuerSki: Buffer;
  readonly signatureAlgorithm: SignAlgorithm;
  readonly crlNumber: number;
  readonly thisUpdateMs: number;
  readonly nextUpdateMs: number;
  readonly revoked: ReadonlyArray<{ serial: string; revokedAtMs: number; reason: number }>;
}

/** A CRL ready to be signed. */
export interface PreparedCrl {
  readonly tbs: Buffer;
  readonly signatureAlgorithm: SignAlgorithm;
}

function time(ms: number): Time {
  // Whole seconds: RFC 5280 §5.1.2.4 forbids fractional seconds.
  return new Time(new Date(Math.floor(ms / 1000) * 1000));
}

/** Builds the tbsCertList. */
export function prepareCrl(c: CrlContent): PreparedCrl {
  if (!Number.isSafeInteger(c.crlNumber) || c.crlNumber < 1) throw new TypeError('crlNumber must be a positive integer');
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: AsnConvert.parse(signatureAlgorithmDer(c.signatureAlgorithm), AlgorithmIdentifier),
    issuer: AsnConvert.parse(c.issuerSubjectDer, Name),
    thisUpdate: time(c.thisUpdateMs),
    nextUpdate: time(c.nextUpdateMs),
    crlExtensions: [
      new Extension({ extnID: id_ce_authorityKeyIdentifier, critical: false, extnValue: new OctetString(AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(c.issuerSki) }))) }),
      new Extension({ extnID: id_ce_cRLNumber, critical: false, extnValue: new OctetString(AsnConvert.serialize(new CRLNumber(c.crlNumber))) }),
    ],
  });
  if (c.revoked.length > 0) {
    tbs.revokedCertificates = c.revoked.map(
      (r) =>
        new RevokedCertificate({
          userCertificate: serialBytes(r.serial),
          revocationDate: time(r.revokedAtMs),
          ...(r.reason === 0 ? {} : { crlEntryExtensions: [new Extension({ extnID: id_ce_cRLReasons, critical: false, extnValue: new OctetString(AsnConvert.serialize(new CRLReason(r.reason))) })] }),
        }),
    );
  }
  return { tbs: Buffer.from(AsnConvert.serialize(tbs)), signatureAlgorithm: c.signatureAlgorithm };
}

/** DER INTEGER content bytes of a hex serial (positive: a leading zero when the top bit is set). */
function serialBytes(hex: string): ArrayBuffer {
  const b = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
  const out = (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
}

/** Assembles the signed CRL (DER): SEQUENCE { tbsCertList, signatureAlgorithm, signature }. */
export function finishCrl(prepared: PreparedCrl, signature: Buffer): Buffer {
  return seq(prepared.tbs, signatureAlgorithmDer(prepared.signatureAlgorithm), tlv(0x03, Buffer.from([0]), signature));
}

/** PEM text of a DER CRL. */
export function crlPem(der: Buffer): string {
  const b64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN X509 CRL-----\n${body}-----END X509 CRL-----\n`;
}
