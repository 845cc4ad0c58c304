/**
 * Approval requests, statements and the quorum check as pure functions: formats, canonical bytes,
 * every refusal code, hostile display text, and the TBS reader against OpenSSL's.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Extension, TBSCertificate } from '@peculiar/asn1-x509';
import { beforeAll, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { derSequence, derTlv, encodeOid, TAG } from '../../../core/pki/der.ts';

import { canonicalJson } from '../../../core/util/canonical-json.ts';
import { verifySignature } from '../../../core/crypto/signer.ts';
import {
  approvalTargetOf,
  checkQuorum,
  createApprovalRequest,
  describeTbs,
  digestWords,
  evaluateApprovals,
  extractSignedTbs,
  parseApproval,
  parseApprovalRequest,
  serializeApproval,
  serializeApprovalRequest,
  signApproval,
  statementBytes,
  verifyApproval,
  type Approval,
  type ApprovalRequest,
} from '../../../core/quorum/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { assembleSigned, buildCaTbs, caught, enrollQuorum, fileOf, tlv, type EnrolledQuorum } from './fixtures.ts';

const NOW = new Date('2027-01-10T10:00:00.000Z');
const rnd = (n: number): Buffer => Buffer.alloc(n, 5);

describe('approval requests and statements', () => {
  let q: EnrolledQuorum;
  let tbs: Buffer;
  let request: ApprovalRequest;
  const key = (name: string): KeyObject => q.approvalKeys.get(name) as KeyObject;
  const approve = (name: string, decision: 'approve' | 'decline' = 'approve', now = NOW, req = request): Approval =>
    signApproval({ request: req, custodianFile: fileOf(q, name), approvalKey: key(name), decision, now });

  beforeAll(async () => {
    q = await enrollQuorum();
    const root = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = root.publicKey.export({ type: 'spki', format: 'der' });
    tbs = buildCaTbs({ issuer: 'CN=Root', subject: 'CN=Intermediate A,O=NEAM', subjectSpki: spki, issuerSpki: spki, notBefore: NOW, days: 90, pathLen: 0 });
    request = createApprovalRequest({ roster: q.roster, operation: 'sign-intermediate', tbsDer: tbs, now: NOW, random: rnd });
  });

  it('a request carries the digest, its words, the locally decoded fields, and round-trips', () => {
    expect(request.tbsSha256).toMatch(/^[0-9a-f]{64}$/u);
    expect(request.words).toEqual(digestWords(request.tbsSha256));
    expect(request.subject).toBe('CN=Intermediate A, O=NEAM');
    const labels = request.fields.map((f) => f.label);
    expect(labels).toEqual(expect.arrayContaining(['Subject', 'Issuer', 'Not before', 'Not after', 'Public key', 'Basic Constraints (critical)', 'Key Usage (critical)']));
    expect(request.fields.find((f) => f.label === 'Basic Constraints (critical)')?.value).toBe('CA: TRUE, pathLen: 0');
    expect(request.custodians).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(request.expiresAt).toBe('2027-01-11T10:00:00.000Z');
    expect(parseApprovalRequest(serializeApprovalRequest(request))).toEqual(request);
  });

  it('the signature covers the RFC 8785 bytes of the statement with the brief\'s fields', () => {
    const a = approve('alice');
    expect(Object.keys(a.statement).sort()).toEqual(['approvedAt', 'ceremony', 'custodian', 'decision', 'expiresAt', 'operation', 'quorumId', 'requestId', 'subject', 'tbsSha256', 'type', 'version']);
    expect(statementBytes(a.statement).toString('utf8')).toBe(canonicalJson(a.statement));
    expect(statementBytes(a.statement).toString('utf8').startsWith('{"approvedAt":"2027-01-10T10:00:00.000Z","ceremony":"root-2027","custodian":"alice"')).toBe(true);
    const spki = createPublicKey(key('alice')).export({ type: 'spki', format: 'der' });
    expect(verifySignature('ECDSA-SHA256', spki, statementBytes(a.statement), Buffer.from(a.signature.value, 'base64'))).toBe(true);
    expect(parseApproval(serializeApproval(a))).toEqual(a);
    expect(verifyApproval(q.roster, approvalTargetOf(request), serializeApproval(a), NOW)).toMatchObject({ custodian: 'alice', decision: 'approve' });
  });

  it('checkQuorum passes with M distinct approvals and records who approved', () => {
    const d = checkQuorum(q.roster, approvalTargetOf(request), [approve('erin'), approve('alice'), approve('carol'), approve('dave')], NOW);
    expect(d.approvals.map((a) => a.custodian)).toEqual(['erin', 'alice', 'carol', 'dave']);
    expect(d).toMatchObject({ threshold: 3, operation: 'sign-intermediate', tbsSha256: request.tbsSha256, quorumId: q.roster.quorumId });
  });

  const refusals: Array<[string, string, () => Approval]> = [
    ['ceremony', 'ERR_QUORUM_APPROVAL_INVALID', () => resign('alice', { ceremony: 'root-other' })],
    ['quorumId', 'ERR_QUORUM_APPROVAL_INVALID', () => resign('alice', { quorumId: 'ab'.repeat(16) })],
    ['operation', 'ERR_QUORUM_APPROVAL_INVALID', () => resign('alice', { operation: 'sign-crl' })],
    ['subject', 'ERR_QUORUM_APPROVAL_INVALID', () => resign('alice', { subject: 'CN=Something Else' })],
    ['tbsSha256', 'ERR_QUORUM_APPROVAL_WRONG_TBS', () => resign('alice', { tbsSha256: 'ee'.repeat(32) })],
    ['approvedAt (in the future)', 'ERR_QUORUM_APPROVAL_INVALID', () => resign('alice', { approvedAt: '2027-01-10T11:00:00.000Z' })],
    ['expiresAt (passed)', 'ERR_QUORUM_APPROVAL_EXPIRED', () => resign('alice', { approvedAt: '2027-01-08T10:00:00.000Z', expiresAt: '2027-01-10T09:59:59.999Z' })],
    ['expiresAt (beyond 30 days)', 'ERR_QUORUM_APPROVAL_INVALID', () => resign('alice', { expiresAt: '2027-03-10T10:00:00.000Z' })],
    ['custodian (not enrolled)', 'ERR_QUORUM_APPROVAL_NOT_ENROLLED', () => resign('alice', { custodian: 'mallory' })],
    ['custodian (another custodian\'s name)', 'ERR_QUORUM_APPROVAL_NOT_ENROLLED', () => resign('alice', { custodian: 'bob' })],
    ['signature.value', 'ERR_QUORUM_APPROVAL_SIGNATURE_INVALID', () => ({ ...approve('alice'), signature: { ...approve('alice').signature, value: approve('bob').signature.value } })],
    ['signature.publicKey (a stranger\'s key)', 'ERR_QUORUM_APPROVAL_NOT_ENROLLED', () => strangerSigned('alice')],
    ['decision', 'ERR_QUORUM_APPROVAL_DECLINED', () => approve('alice', 'decline')],
  ];
  /** Alice's key signs a statement with some fields changed (a well-signed but wrong statement). */
  function resign(name: string, change: Partial<Approval['statement']>): Approval {
    const a = approve(name);
    const statement = { ...a.statement, ...change };
    return { ...a, statement, signature: { ...a.signature, value: softwareSigner(key(name), 'ECDSA-SHA256').sign(statementBytes(statement)).toString('base64') } };
  }
  function strangerSigned(name: string): Approval {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const a = approve(name);
    return { ...a, signature: { alg: 'ECDSA-SHA256', publicKey: createPublicKey(stranger).export({ type: 'spki', format: 'der' }).toString('base64'), value: softwareSigner(stranger, 'ECDSA-SHA256').sign(statementBytes(a.statement)).toString('base64') } };
  }
  for (const [field, code, make] of refusals) {
    it(`verifyApproval refuses a statement with a wrong ${field}: ${code}`, async () => {
      const e = await caught(() => verifyApproval(q.roster, approvalTargetOf(request), make(), NOW, 'alice.approval.json'));
      expect(e.code).toBe(code);
      expect(e.message).toContain('alice.approval.json');
    });
  }

  it('checkQuorum lists every finding, refuses with the first one\'s code, and says nothing was signed', async () => {
    const approvals = [approve('alice'), resign('bob', { tbsSha256: 'ee'.repeat(32) }), approve('carol'), approve('alice', 'approve', new Date(NOW.getTime() + 1)), approve('dave')];
    const ev = evaluateApprovals(q.roster, approvalTargetOf(request), approvals, NOW);
    expect(ev.accepted.map((a) => a.custodian)).toEqual(['alice', 'carol', 'dave']);
    expect(ev.findings.map((f) => [f.index, f.code, f.custodian])).toEqual([
      [1, 'ERR_QUORUM_APPROVAL_WRONG_TBS', 'bob'],
      [3, 'ERR_QUORUM_APPROVAL_DUPLICATE', 'alice'],
    ]);
    const e = await caught(() => checkQuorum(q.roster, approvalTargetOf(request), approvals, NOW));
    expect(e.code).toBe('ERR_QUORUM_APPROVAL_WRONG_TBS');
    expect(e.message).toContain('2 of the 5 approvals do not count; nothing was signed');
    expect(e.message).toContain('[ERR_QUORUM_APPROVAL_DUPLICATE]');
  });

  it('checkQuorum with too few approvals says how many more and from whom', async () => {
    const e = await caught(() => checkQuorum(q.roster, approvalTargetOf(request), [approve('bob')], NOW));
    expect(e.code).toBe('ERR_QUORUM_NOT_MET');
    expect(e.message).toContain('1 of 3 required custodians approved');
    expect(e.message).toContain('2 more needed from: alice, carol, dave, erin');
  });

  it('signApproval refuses a foreign custodian file, an unknown custodian, an expired request and a clock far behind', async () => {
    const other = await enrollQuorum({ ceremony: 'root-other', names: ['alice', 'bob'], threshold: 2 });
    expect((await caught(() => signApproval({ request, custodianFile: fileOf(other, 'alice'), approvalKey: other.approvalKeys.get('alice') as KeyObject, decision: 'approve', now: NOW }))).code).toBe('ERR_QUORUM_SHARE_FOREIGN');
    const narrowed = { ...request, custodians: ['bob', 'carol', 'dave'] };
    expect((await caught(() => signApproval({ request: narrowed, custodianFile: fileOf(q, 'alice'), approvalKey: key('alice'), decision: 'approve', now: NOW }))).code).toBe('ERR_QUORUM_CUSTODIAN_UNKNOWN');
    expect((await caught(() => approve('alice', 'approve', new Date('2027-01-11T10:00:00.000Z')))).code).toBe('ERR_QUORUM_APPROVAL_EXPIRED');
    expect((await caught(() => approve('alice', 'approve', new Date('2027-01-09T10:00:00.000Z')))).code).toBe('ERR_QUORUM_APPROVAL_INVALID');
  });

  const requestFields: Array<[string, (r: Record<string, unknown>) => void]> = [
    ['tbsSha256 (not the digest of tbs)', (r) => (r['tbsSha256'] = 'aa'.repeat(32))],
    ['words (not the words of the digest)', (r) => (r['words'] = [...(r['words'] as string[]).slice(1), 'aardvark'])],
    ['expiresAt (before createdAt)', (r) => (r['expiresAt'] = '2027-01-01T00:00:00.000Z')],
    ['expiresAt (more than 30 days)', (r) => (r['expiresAt'] = '2027-06-01T00:00:00.000Z')],
    ['subject (terminal escape)', (r) => (r['subject'] = 'CN=ok\u001b[2K\u001b[1ACN=evil')],
    ['subject (bidi override)', (r) => (r['subject'] = 'CN=\u202egnp.exe')],
    ['fields.value (carriage return)', (r) => (r['fields'] = [{ label: 'Subject', value: 'CN=a\rCN=b' }])],
    ['operation', (r) => (r['operation'] = 'Sign Everything')],
    ['threshold', (r) => (r['threshold'] = 9)],
    ['unknown field', (r) => (r['autoApprove'] = true)],
  ];
  for (const [field, mutate] of requestFields) {
    it(`parseApprovalRequest refuses an invalid ${field} (ERR_QUORUM_APPROVAL_INVALID)`, async () => {
      const r = structuredClone(request) as unknown as Record<string, unknown>;
      mutate(r);
      const e = await caught(() => parseApprovalRequest(JSON.stringify(r), 'req.json'));
      expect(e.code).toBe('ERR_QUORUM_APPROVAL_INVALID');
      expect(e.message).toContain(field.split(/[ .]/u)[0] === 'unknown' ? 'autoApprove' : (field.split(/[ .]/u)[0] as string));
    });
  }

  it('parseApprovalRequest and parseApproval refuse oversized, truncated and non-JSON input', async () => {
    expect((await caught(() => parseApprovalRequest('x'.repeat(2_000_000)))).code).toBe('ERR_INPUT_TOO_LARGE');
    expect((await caught(() => parseApprovalRequest(serializeApprovalRequest(request).slice(0, 100)))).code).toBe('ERR_QUORUM_APPROVAL_INVALID');
    expect((await caught(() => parseApproval('x'.repeat(20_000)))).code).toBe('ERR_INPUT_TOO_LARGE');
    expect((await caught(() => parseApproval('{"format":"neam-ca/approval"'))).code).toBe('ERR_QUORUM_APPROVAL_INVALID');
    expect((await caught(() => parseApproval(new Uint8Array([0xc3, 0x28])))).code).toBe('ERR_QUORUM_APPROVAL_INVALID');
  });

  it('createApprovalRequest refuses a digest that does not match the bytes', async () => {
    expect((await caught(() => createApprovalRequest({ roster: q.roster, operation: 'sign-intermediate', tbsDer: tbs, tbsSha256: '00'.repeat(32), now: NOW, random: rnd }))).code).toBe('ERR_QUORUM_APPROVAL_WRONG_TBS');
    const digestOnly = createApprovalRequest({ roster: q.roster, operation: 'sign-crl', tbsSha256: 'AB'.repeat(32), subject: 'CRL 7', fields: [{ label: 'Number', value: '7' }], now: NOW, random: rnd });
    expect(digestOnly.tbs).toBeUndefined();
    expect(digestOnly.tbsSha256).toBe('ab'.repeat(32));
  });
});

describe('TBS bytes', () => {
  it('extractSignedTbs finds exactly the bytes OpenSSL finds, and describeTbs decodes a certificate and a CRL', () => {
    const d = tempDir('neam-tbs-');
    try {
      runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d.dir, 'k.pem'), '-out', join(d.dir, 'c.der'), '-outform', 'DER', '-subj', '/CN=Oracle CA/O=NEAM', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'nameConstraints=critical,permitted;URI:example.org']);
      const cert = runOk('openssl', ['x509', '-inform', 'DER', '-in', join(d.dir, 'c.der'), '-outform', 'PEM']);
      writeFileSync(join(d.dir, 'c.pem'), cert);
      const der = Buffer.from(cert.replace(/-----[^-]+-----|\s/gu, ''), 'base64');
      const line = runOk('openssl', ['asn1parse', '-inform', 'DER', '-in', join(d.dir, 'c.der')]).split('\n')[1] as string;
      const m = /^\s*(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+)/u.exec(line);
      const tbs = extractSignedTbs(der);
      expect(tbs.equals(der.subarray(Number(m?.[1]), Number(m?.[1]) + Number(m?.[2]) + Number(m?.[3])))).toBe(true);
      const described = describeTbs(tbs);
      expect(described.kind).toBe('certificate');
      expect(described.subject).toBe('CN=Oracle CA, O=NEAM');
      const get = (l: string): string | undefined => described.fields.find((f) => f.label === l)?.value;
      expect(get('Public key')).toBe('EC P-256');
      expect(get('Signature algorithm')).toBe('ecdsa-with-SHA256');
      expect(get('Name Constraints (critical)')).toBe('permitted: URI:example.org; excluded: none');
      expect(get('Validity')).toBe('30 days');
      const serial = runOk('openssl', ['x509', '-in', join(d.dir, 'c.pem'), '-noout', '-serial']).trim().split('=')[1] ?? '';
      expect(BigInt(`0x${get('Serial number')?.replace(/:/gu, '') ?? ''}`)).toBe(BigInt(`0x${serial}`));

      writeFileSync(join(d.dir, 'ca.cnf'), '[ca]\ndefault_ca=x\n[x]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=7\n');
      writeFileSync(join(d.dir, 'index.txt'), '');
      writeFileSync(join(d.dir, 'crlnumber'), '2A\n');
      runOk('openssl', ['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'k.pem', '-cert', 'c.pem', '-out', 'crl.pem'], { cwd: d.dir });
      const crl = Buffer.from(runOk('openssl', ['crl', '-in', join(d.dir, 'crl.pem'), '-outform', 'PEM']).replace(/-----[^-]+-----|\s/gu, ''), 'base64');
      const c = describeTbs(extractSignedTbs(crl));
      expect(c.kind).toBe('crl');
      expect(c.subject).toBe('CRL of CN=Oracle CA, O=NEAM number 42 (0x2a)');
    } finally {
      d.cleanup();
    }
  });

  const good = (): Buffer => assembleSigned(tlv(0x30, Buffer.from([0x02, 0x01, 0x01])), Buffer.from([1, 2, 3]));
  const malformed: Array<[string, () => Buffer]> = [
    ['empty', () => Buffer.alloc(0)],
    ['truncated', () => good().subarray(0, good().length - 1)],
    ['trailing data', () => Buffer.concat([good(), Buffer.from([0])])],
    ['indefinite length', () => Buffer.from([0x30, 0x80, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00])],
    ['non-minimal length', () => Buffer.concat([Buffer.from([0x30, 0x81, 0x05]), good().subarray(2, 7)])],
    ['outer not a SEQUENCE', () => Buffer.concat([Buffer.from([0x31]), good().subarray(1)])],
    ['signature not a BIT STRING', () => tlv(0x30, Buffer.concat([tlv(0x30, Buffer.alloc(0)), tlv(0x30, Buffer.alloc(0)), tlv(0x04, Buffer.from([0]))]))],
    ['four elements', () => tlv(0x30, Buffer.concat([tlv(0x30, Buffer.alloc(0)), tlv(0x30, Buffer.alloc(0)), tlv(0x03, Buffer.from([0])), tlv(0x05, Buffer.alloc(0))]))],
    ['length beyond the input', () => Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30])],
  ];
  for (const [name, make] of malformed) {
    it(`extractSignedTbs refuses ${name} DER (ERR_PKI_DER_INVALID)`, async () => {
      expect((await caught(() => extractSignedTbs(make()))).code).toBe('ERR_PKI_DER_INVALID');
    });
  }

  it('describeTbs refuses bytes that are neither a tbsCertificate nor a tbsCertList, and oversized input', async () => {
    expect((await caught(() => describeTbs(tlv(0x30, Buffer.from([0x02, 0x01, 0x01]))))).code).toBe('ERR_PKI_DER_INVALID');
    expect((await caught(() => describeTbs(Buffer.from('not der')))).code).toBe('ERR_PKI_DER_INVALID');
    expect((await caught(() => describeTbs(Buffer.alloc(1024 * 1024 + 1)))).code).toBe('ERR_INPUT_TOO_LARGE');
  });

  /** A CA TBS with one more extension whose extnValue is exactly `value`. */
  const tbsWithExtension = (oid: string, value: Buffer, critical = false): Buffer => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const parsed = AsnConvert.parse(buildCaTbs({ issuer: 'CN=Root', subject: 'CN=Intermediate,O=NEAM', subjectSpki: k, issuerSpki: k, notBefore: NOW, days: 90, pathLen: 0 }), TBSCertificate);
    parsed.extensions?.push(new Extension({ extnID: oid, critical, extnValue: new OctetString(value) }));
    return Buffer.from(AsnConvert.serialize(parsed));
  };

  // Each case is named by the extension whose value is malformed.
  const malformedExtensions: Array<[string, string, string]> = [
    ['subjectAltName holding an empty OCTET STRING (DER 0400)', '2.5.29.17', '0400'],
    ['subjectAltName truncated', '2.5.29.17', '3005820378'],
    ['extKeyUsage holding an INTEGER', '2.5.29.37', '020101'],
    ['keyUsage holding a SEQUENCE', '2.5.29.15', '3000'],
    ['authorityInfoAccess holding garbage', '1.3.6.1.5.5.7.1.1', 'ffff'],
    ['certificatePolicies holding a NULL', '2.5.29.32', '0500'],
    ['cRLDistributionPoints holding a BOOLEAN', '2.5.29.31', '0101ff'],
  ];
  for (const [name, oid, hex] of malformedExtensions) {
    it(`describeTbs refuses a ${name} with ERR_PKI_DER_INVALID, never a library exception`, async () => {
      const e = await caught(() => describeTbs(tbsWithExtension(oid, Buffer.from(hex, 'hex'))));
      expect(e.code).toBe('ERR_PKI_DER_INVALID');
      expect(e.message).toMatch(/is not valid DER/u);
    });
  }

  it('describeTbs refuses a tbsCertList whose extension OID is 64 KiB (bounded before any decoder sees it)', async () => {
    const utc = (t: string): Buffer => derTlv(TAG.UTC_TIME, Buffer.from(t, 'ascii'));
    const alg = derSequence([encodeOid('1.2.840.113549.1.1.11'), derTlv(TAG.NULL, Buffer.alloc(0))]);
    const oid = Buffer.concat([Buffer.from([0x2a]), Buffer.alloc(65534, 0x81), Buffer.from([0x01])]);
    const ext = derSequence([derTlv(TAG.OID, oid), derTlv(TAG.OCTET_STRING, Buffer.from('0500', 'hex'))]);
    const tbs = derSequence([derTlv(TAG.INTEGER, Buffer.from([1])), alg, derSequence([]), utc('270101000000Z'), utc('270201000000Z'), derTlv(0xa0, derSequence([ext]))]);
    const e = await caught(() => describeTbs(tbs));
    expect(e.code).toBe('ERR_PKI_DER_INVALID');
    expect(e.message).toMatch(/OBJECT IDENTIFIER of 65536 octets; at most 64/u);
  });

  it('describeTbs under seeded random mutation: every failure is a CoreError (ERR_PKI_DER_INVALID)', () => {
    // xorshift32 with a fixed seed: the same 3000 mutants on every run.
    let state = 0x9e3779b9;
    const next = (): number => {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state;
    };
    const d = tempDir('neam-tbs-fuzz-');
    try {
      runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d.dir, 'k.pem'), '-out', join(d.dir, 'c.pem'), '-subj', '/CN=Fuzz CA/O=NEAM', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'nameConstraints=critical,permitted;URI:example.org', '-addext', 'subjectAltName=URI:spiffe://example.org,DNS:ca.example.org', '-addext', 'extendedKeyUsage=serverAuth,clientAuth', '-addext', 'authorityInfoAccess=caIssuers;URI:http://example.org/ca.crt', '-addext', 'crlDistributionPoints=URI:http://example.org/ca.crl', '-addext', 'certificatePolicies=1.2.3.4']);
      writeFileSync(join(d.dir, 'ca.cnf'), '[ca]\ndefault_ca=x\n[x]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=7\n');
      writeFileSync(join(d.dir, 'index.txt'), 'R\t300101000000Z\t270101000000Z,keyCompromise\t0A\tunknown\t/CN=x\n');
      writeFileSync(join(d.dir, 'crlnumber'), '07\n');
      runOk('openssl', ['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'k.pem', '-cert', 'c.pem', '-out', 'crl.pem'], { cwd: d.dir });
      const pemDer = (f: string): Buffer => Buffer.from(runOk('openssl', [f.endsWith('crl.pem') ? 'crl' : 'x509', '-in', f, '-outform', 'PEM']).replace(/-----[^-]+-----|\s/gu, ''), 'base64');
      const seeds = [extractSignedTbs(pemDer(join(d.dir, 'c.pem'))), extractSignedTbs(pemDer(join(d.dir, 'crl.pem')))];
      let decoded = 0;
      for (let i = 0; i < 3000; i++) {
        const b = Buffer.from(seeds[i % 2] as Buffer);
        const edits = 1 + (next() % 3);
        for (let k = 0; k < edits; k++) {
          const pos = next() % b.length;
          b[pos] = next() % 4 === 0 ? 0x00 : (b[pos] as number) ^ (1 + (next() % 255));
        }
        try {
          describeTbs(b);
          decoded++;
        } catch (e) {
          expect(isCoreError(e), `mutant ${i}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`).toBe(true);
          expect((e as { code: string }).code, `mutant ${i}`).toMatch(/^ERR_PKI_DER_INVALID$/u);
        }
      }
      // The mutants exercise both outcomes: some still decode, most are refused.
      expect(decoded).toBeGreaterThan(0);
      expect(decoded).toBeLessThan(3000);
    } finally {
      d.cleanup();
    }
  });

  it('describeTbs shows hostile subject characters as visible escapes, so a request can still be built and reviewed', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const tbs = buildCaTbs({ issuer: 'CN=Root', subject: 'CN=good\u001b[2K\u202eevil', subjectSpki: k, issuerSpki: k, notBefore: NOW, days: 1 });
    const d = describeTbs(tbs);
    expect(d.subject).toBe('CN=good\\u{001B}[2K\\u{202E}evil');
    expect(d.fields.find((f) => f.label === 'Subject')?.value).toBe('CN=good\\u{001B}[2K\\u{202E}evil');
  });
});
