/**
 * @module cli/commands/ca
 * `neam-ca ca …` (low-level PKI operations for rehearsals, tests and headless use; the ceremony
 * wraps them in quorum and transcript) and `neam-ca inspect FILE`. Every signing command prepares
 * first, shows the decoded fields and the TBS SHA-256 on stderr, and signs only then (or stops
 * there with --dry-run). Output files are created exclusively, never overwritten.
 *
 * Must never: print or log a PIN, or write a file it did not create.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { hsmSigner } from '../../crypto/signer.ts';
import { CoreError } from '../../errors.ts';
import type { HsmModule, HsmSession, KeyRef } from '../../hsm/index.ts';
import { parseKeySpec, describeSpec } from '../../hsm/index.ts';
import { openStore } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import {
  openCaStore,
  prepareCrl,
  prepareIntermediate,
  prepareRoot,
  prepareSelfSigned,
  preparedFromJson,
  preparedToJson,
  REVOCATION_REASONS,
  revokeCertificate,
  signPrepared,
  type CaStore,
  type CeremonyRef,
  type Prepared,
} from '../../ca/index.ts';
import {
  asCertificateProfile,
  asCrlProfile,
  checkSignature,
  decodeSpki,
  defaultProfile,
  DEFAULT_PROFILE_NAMES,
  detectKind,
  formatCertificate,
  formatCrl,
  formatCsr,
  looksLikePem,
  parseCertificate,
  parseCrl,
  parseCsr,
  parsePem,
  parseProfile,
  profileForTrustDomain,
  signAlgorithmFor,
  summarizeCertificate,
  summarizeCrl,
  summarizeCsr,
  buildCsr,
  toPem,
  PEM_LABEL,
  type CrlReasonName,
  type Profile,
  type SubjectSpec,
} from '../../pki/index.ts';
import { isoSeconds } from '../../pki/time.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';
import { loginFrom, MODULE_OPTIONS, openHsmFrom, PIN_OPTIONS, TOKEN_OPTIONS } from '../hsm-options.ts';
import { table } from '../render.ts';

const STORE_OPTIONS: Record<string, OptionSpec> = {
  db: { type: 'string', valueName: 'FILE', description: 'PKI database (default HOME/ca.sqlite)' },
};

const RECORD_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTIONS,
  ceremony: { type: 'string', valueName: 'ID', description: 'ceremony reference recorded with the result (default cli:<time>)' },
  rehearsal: { type: 'boolean', description: 'mark the records as rehearsal' },
};

const PROFILE_OPTIONS: Record<string, OptionSpec> = {
  profile: { type: 'string', valueName: 'NAME|FILE', description: `built-in profile (${DEFAULT_PROFILE_NAMES.join(', ')}) or a YAML/JSON profile file` },
  'trust-domain': { type: 'string', valueName: 'TD', description: 'SPIFFE trust domain to re-target the profile to (e.g. prod.example.com)' },
};

const TRUST_OPTIONS: Record<string, OptionSpec> = {
  'trust-anchor': { type: 'string', multiple: true, valueName: 'FILE', description: 'a CA certificate trusted beyond the database (e.g. the root on the online host); the issuer must be recorded here, be one, or be signed by one' },
};

const SIGN_OPTIONS: Record<string, OptionSpec> = {
  'dry-run': { type: 'boolean', description: 'prepare and lint only: show the fields and TBS SHA-256, sign nothing' },
  'prepared-out': { type: 'string', valueName: 'FILE', description: 'also write the prepared object (JSON) to FILE' },
  'expect-tbs-sha256': { type: 'string', valueName: 'HEX', description: 'sign only if the prepared bytes have this SHA-256 (an approved digest)' },
  out: { type: 'string', valueName: 'FILE', description: 'write the result (PEM) to FILE (must not exist)' },
};

const VALIDITY_OPTIONS: Record<string, OptionSpec> = {
  subject: { type: 'string', valueName: 'DN', description: 'subject attributes, e.g. "CN=Example Root CA,O=Example,C=DE" (CN, O, OU, C, ST, L, serialNumber)' },
  'not-before': { type: 'string', valueName: 'TIME', description: 'start of validity (ISO-8601), e.g. for staggered intermediates' },
  'not-after': { type: 'string', valueName: 'TIME', description: 'end of validity (ISO-8601); default from the profile, capped at the issuer' },
};

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

function need(ctx: CommandContext, name: string, valueName: string): string {
  const v = str(ctx, name);
  if (v === undefined || v === '') throw new CoreError('ERR_USAGE', `--${name} ${valueName} is required`);
  return v;
}

function readInput(ctx: CommandContext, path: string, what: string, max = 32 * 1024 * 1024): Buffer {
  const p = resolve(ctx.cwd, path);
  let size: number;
  try {
    const st = statSync(p);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new CoreError('ERR_IO', `cannot read ${what} ${p}: it does not exist or is not a regular file`, { cause: e });
  }
  if (size > max) throw new CoreError('ERR_INPUT_TOO_LARGE', `${what} ${p} is ${size} bytes, more than ${max}`);
  return readFileSync(p);
}

function parseTime(ctx: CommandContext, name: string): Date | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/u.test(v)) throw new CoreError('ERR_USAGE', `--${name} '${v}' is not an ISO-8601 time (e.g. 2027-01-01T00:00:00Z)`);
  return new Date(t);
}

const DN_KEYS: Record<string, keyof SubjectSpec> = { CN: 'commonName', O: 'organization', OU: 'organizationalUnit', C: 'country', ST: 'state', L: 'locality', SERIALNUMBER: 'serialNumber' };

/**
 * Parses `CN=…,O=…,C=…` (commas inside values escaped as `\,`).
 * @throws {CoreError} ERR_USAGE
 */
export function parseSubjectArg(text: string): SubjectSpec {
  const spec: SubjectSpec = {};
  const parts = text.split(/(?<!\\),/u).map((s) => s.trim()).filter((s) => s !== '');
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = DN_KEYS[part.slice(0, eq).trim().toUpperCase()];
    if (eq <= 0 || key === undefined) throw new CoreError('ERR_USAGE', `--subject: '${part}' is not KEY=value with KEY one of ${Object.keys(DN_KEYS).join(', ')}`);
    if (spec[key] !== undefined) throw new CoreError('ERR_USAGE', `--subject: ${part.slice(0, eq)} is given twice`);
    spec[key] = part.slice(eq + 1).trim().replace(/\\,/gu, ',');
  }
  return spec;
}

function loadProfileArg(ctx: CommandContext, fallback: string): Profile {
  const arg = str(ctx, 'profile') ?? fallback;
  let profile: Profile;
  if (DEFAULT_PROFILE_NAMES.includes(arg)) profile = defaultProfile(arg);
  else if (existsSync(resolve(ctx.cwd, arg)) || /[/\\]|\.(ya?ml|json)$/u.test(arg)) profile = parseProfile(readInput(ctx, arg, 'the profile', 64 * 1024).toString('utf8'), arg);
  else throw new CoreError('ERR_PKI_PROFILE_INVALID', `'${arg}' is neither a built-in profile (${DEFAULT_PROFILE_NAMES.join(', ')}) nor a profile file`);
  const td = str(ctx, 'trust-domain');
  if (td !== undefined) profile = profileForTrustDomain(asCertificateProfile(profile), td);
  return profile;
}

/** --trust-anchor FILE… as DER/PEM buffers (read, not trusted as issuers until chained). */
function trustAnchorsArg(ctx: CommandContext): Buffer[] {
  const v = ctx.values['trust-anchor'];
  const paths = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
  return paths.map((path) => readInput(ctx, path, 'the trust anchor', 1024 * 1024));
}

function openCa(ctx: CommandContext): CaStore {
  const path = resolve(ctx.cwd, str(ctx, 'db') ?? resolve(ctx.home, 'ca.sqlite'));
  return openCaStore(openStore(path));
}

function ceremonyRef(ctx: CommandContext, now: Date): CeremonyRef {
  return { id: str(ctx, 'ceremony') ?? `cli:${isoSeconds(now)}`, rehearsal: ctx.values['rehearsal'] === true };
}

function writeOut(ctx: CommandContext, name: string, data: string): string | undefined {
  const path = str(ctx, name);
  if (path === undefined) return undefined;
  const p = resolve(ctx.cwd, path);
  try {
    writeFileExclusive(p, data, 0o644);
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_IO', `cannot write ${p}`, { cause: e });
  }
  return p;
}

/** Refuses before any HSM work when an output already exists. */
function refuseExistingOutputs(ctx: CommandContext): void {
  for (const name of ['out', 'prepared-out']) {
    const p = str(ctx, name);
    if (p !== undefined && existsSync(resolve(ctx.cwd, p))) throw new CoreError('ERR_ALREADY_EXISTS', `--${name} ${p} already exists; NEAM CA never overwrites an output`);
  }
}

function showPrepared(ctx: CommandContext, p: Prepared): void {
  const text = p.kind === 'crl' ? formatCrl(p.summary, `Prepared CRL (profile ${p.profile.name})`) : formatCertificate(p.summary, `Prepared ${p.profile.role} certificate (profile ${p.profile.name})`);
  ctx.out.status(text);
  for (const n of p.notes) ctx.out.status(`note: ${n}`);
  ctx.out.status(`TBS SHA-256: ${p.tbsSha256}`);
}

async function withSession<T>(ctx: CommandContext, fn: (session: HsmSession, hsm: HsmModule) => Promise<T> | T): Promise<T> {
  const hsm = openHsmFrom(ctx);
  try {
    const session = await loginFrom(ctx, hsm);
    try {
      return await fn(session, hsm);
    } finally {
      session.close();
    }
  } finally {
    hsm.close();
  }
}

function findPrivateKey(session: HsmSession, label: string): KeyRef {
  return session.findKey('private', label);
}

interface SignResult {
  prepared: Prepared;
  signed?: { pem: string; sha256: string; serial?: string; crlNumber?: number; out?: string };
  preparedOut?: string;
}

function finish(ctx: CommandContext, store: CaStore, session: HsmSession, key: KeyRef, prepared: Prepared, now: Date): SignResult {
  showPrepared(ctx, prepared);
  const preparedOut = writeOut(ctx, 'prepared-out', `${JSON.stringify(preparedToJson(prepared), null, 2)}\n`);
  if (ctx.values['dry-run'] === true) return preparedOut === undefined ? { prepared } : { prepared, preparedOut };
  const expect = str(ctx, 'expect-tbs-sha256');
  const expectProfile = str(ctx, 'expect-profile-sha256');
  const trustAnchors = trustAnchorsArg(ctx);
  const issued = signPrepared(prepared, hsmSigner(session, key, prepared.signatureAlgorithm), {
    store,
    ceremony: ceremonyRef(ctx, now),
    now,
    ...(expect === undefined ? {} : { expectTbsSha256: expect }),
    ...(expectProfile === undefined ? {} : { expectProfileSha256: expectProfile }),
    ...(trustAnchors.length === 0 ? {} : { trustAnchors }),
  });
  const out = writeOut(ctx, 'out', issued.pem);
  const signed = issued.kind === 'certificate' ? { pem: issued.pem, sha256: issued.info.sha256, serial: issued.info.serial } : { pem: issued.pem, sha256: issued.info.sha256, crlNumber: issued.record.crlNumber };
  return { prepared, signed: out === undefined ? signed : { ...signed, out }, ...(preparedOut === undefined ? {} : { preparedOut }) };
}

function resultJson(r: SignResult): unknown {
  return {
    kind: r.prepared.kind,
    profile: r.prepared.profile.name,
    tbsSha256: r.prepared.tbsSha256,
    summary: r.prepared.summary,
    notes: r.prepared.notes,
    dryRun: r.signed === undefined,
    ...(r.preparedOut === undefined ? {} : { preparedOut: r.preparedOut }),
    ...(r.signed === undefined ? {} : { signed: r.signed }),
  };
}

function renderResult(r: SignResult): string {
  if (r.signed === undefined) return `Dry run: nothing was signed. TBS SHA-256 ${r.prepared.tbsSha256}${r.preparedOut === undefined ? '' : `\nPrepared object written to ${r.preparedOut}`}`;
  const what = r.prepared.kind === 'crl' ? `CRL number ${r.signed.crlNumber}` : `certificate serial ${r.signed.serial}`;
  return `Signed ${what}; SHA-256 ${r.signed.sha256}${r.signed.out === undefined ? `\n${r.signed.pem.trimEnd()}` : `\nWritten to ${r.signed.out}`}`;
}

function subjectArg(ctx: CommandContext): SubjectSpec | undefined {
  const s = str(ctx, 'subject');
  return s === undefined ? undefined : parseSubjectArg(s);
}

const root: Command = {
  path: ['ca', 'root'],
  summary: 'create a self-signed root (or transfer) certificate for a key in the HSM',
  usage: '--token LABEL --key KEYLABEL [--generate rsa-4096] [--profile root] [--subject DN] [--out FILE] [--dry-run]',
  description:
    'Prepares the certificate from the profile (default: root, RSA-4096, 10 years), lints it, shows the fields and the TBS SHA-256, then signs it with the HSM key and records it. With --generate TYPE the key is first generated in the token (the label must be free). The transfer profile makes a self-signed transfer identity the same way.',
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ...PIN_OPTIONS,
    key: { type: 'string', valueName: 'KEYLABEL', description: 'label of the private key in the token' },
    generate: { type: 'string', valueName: 'TYPE', description: 'generate the key first (rsa-4096, ec-p256, …); refused if the label exists' },
    ...PROFILE_OPTIONS,
    ...VALIDITY_OPTIONS,
    ...SIGN_OPTIONS,
    ...RECORD_OPTIONS,
  },
  async run(ctx) {
    const now = new Date();
    const label = need(ctx, 'key', 'KEYLABEL');
    const profile = asCertificateProfile(loadProfileArg(ctx, 'root'));
    const subject = subjectArg(ctx);
    const notBefore = parseTime(ctx, 'not-before');
    const notAfter = parseTime(ctx, 'not-after');
    refuseExistingOutputs(ctx);
    const store = openCa(ctx);
    try {
      const r = await withSession(ctx, (session) => {
        const gen = str(ctx, 'generate');
        let key: KeyRef;
        if (gen !== undefined) {
          const spec = parseKeySpec(gen);
          if (session.findKeys({ label }).length > 0) throw new CoreError('ERR_HSM_OBJECT_EXISTS', `a key labelled '${label}' already exists on the token; choose another label`);
          ctx.out.status(`Generating ${describeSpec(spec)} key '${label}' in token '${session.token.label}'…`);
          key = session.generateKeyPair(spec, { label }).privateKey;
        } else {
          key = findPrivateKey(session, label);
        }
        const spki = session.publicKeySpki(key);
        const input = { profile, spki, now, random: (n: number) => session.random(n), store, ...(subject === undefined ? {} : { subject }), ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) };
        const prepared = profile.role === 'root' ? prepareRoot(input) : prepareSelfSigned(input);
        return finish(ctx, store, session, key, prepared, now);
      });
      ctx.out.result(resultJson(r), () => renderResult(r));
    } finally {
      store.store.close();
    }
  },
};

const intermediate: Command = {
  path: ['ca', 'intermediate'],
  summary: 'issue an intermediate CA certificate from a PKCS#10 CSR with the root key in the HSM',
  usage: '--csr FILE --issuer ROOT.pem --token LABEL --key ROOTKEY [--profile intermediate] [--trust-domain TD] [--not-before TIME] [--out FILE] [--dry-run]',
  description:
    "Verifies the CSR's signature and key, takes only its public key (subject and extensions come from the profile), caps validity by the profile and the root, lints, shows the fields and TBS SHA-256, then signs with the root key and records the certificate. Default profile: intermediate (RSA-2048), or intermediate-ecdsa when the CSR key is EC.",
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ...PIN_OPTIONS,
    csr: { type: 'string', valueName: 'FILE', description: 'the PKCS#10 request (PEM or DER)' },
    issuer: { type: 'string', valueName: 'FILE', description: 'the root certificate (PEM or DER), as recorded in the database' },
    key: { type: 'string', valueName: 'KEYLABEL', description: 'label of the root private key in the token' },
    ...PROFILE_OPTIONS,
    ...VALIDITY_OPTIONS,
    ...SIGN_OPTIONS,
    ...TRUST_OPTIONS,
    ...RECORD_OPTIONS,
  },
  async run(ctx) {
    const now = new Date();
    const csr = readInput(ctx, need(ctx, 'csr', 'FILE'), 'the CSR', 1024 * 1024);
    const issuer = readInput(ctx, need(ctx, 'issuer', 'FILE'), 'the issuer certificate', 1024 * 1024);
    const label = need(ctx, 'key', 'KEYLABEL');
    let fallback = 'intermediate';
    try {
      if (decodeSpki(parseCsr(csr).spki).type === 'EC') fallback = 'intermediate-ecdsa';
    } catch {
      // The CSR is checked properly by prepareIntermediate, with the right error code.
    }
    const profile = asCertificateProfile(loadProfileArg(ctx, fallback));
    const subject = subjectArg(ctx);
    const notBefore = parseTime(ctx, 'not-before');
    const notAfter = parseTime(ctx, 'not-after');
    refuseExistingOutputs(ctx);
    const store = openCa(ctx);
    try {
      const r = await withSession(ctx, (session) => {
        const key = findPrivateKey(session, label);
        const trustAnchors = trustAnchorsArg(ctx);
        const prepared = prepareIntermediate({
          profile,
          csr,
          issuerCertificate: issuer,
          now,
          random: (n) => session.random(n),
          store,
          ...(trustAnchors.length === 0 ? {} : { trustAnchors }),
          ...(subject === undefined ? {} : { subject }),
          ...(notBefore === undefined ? {} : { notBefore }),
          ...(notAfter === undefined ? {} : { notAfter }),
        });
        return finish(ctx, store, session, key, prepared, now);
      });
      ctx.out.result(resultJson(r), () => renderResult(r));
    } finally {
      store.store.close();
    }
  },
};

const crl: Command = {
  path: ['ca', 'crl'],
  summary: "issue the next CRL of a CA (the root's by default) with its key in the HSM",
  usage: '--issuer CA.pem --token LABEL --key KEYLABEL [--profile crl-root] [--out FILE] [--dry-run]',
  description: 'Lists every revocation recorded for the issuer, takes the next CRL number, sets thisUpdate/nextUpdate from the profile, lints, signs and records the CRL.',
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ...PIN_OPTIONS,
    issuer: { type: 'string', valueName: 'FILE', description: 'the CRL issuer certificate (PEM or DER)' },
    key: { type: 'string', valueName: 'KEYLABEL', description: "label of the issuer's private key" },
    profile: { type: 'string', valueName: 'NAME|FILE', description: 'CRL profile: crl-root (default), crl-intermediate, or a file' },
    'next-update': { type: 'string', valueName: 'TIME', description: 'nextUpdate (ISO-8601); default from the profile' },
    ...SIGN_OPTIONS,
    ...TRUST_OPTIONS,
    ...RECORD_OPTIONS,
  },
  async run(ctx) {
    const now = new Date();
    const issuer = readInput(ctx, need(ctx, 'issuer', 'FILE'), 'the issuer certificate', 1024 * 1024);
    const label = need(ctx, 'key', 'KEYLABEL');
    const profile = asCrlProfile(loadProfileArg(ctx, 'crl-root'));
    const nextUpdate = parseTime(ctx, 'next-update');
    refuseExistingOutputs(ctx);
    const store = openCa(ctx);
    try {
      const r = await withSession(ctx, (session) => {
        const key = findPrivateKey(session, label);
        const trustAnchors = trustAnchorsArg(ctx);
        const prepared = prepareCrl({ profile, issuerCertificate: issuer, store, now, ...(nextUpdate === undefined ? {} : { nextUpdate }), ...(trustAnchors.length === 0 ? {} : { trustAnchors }) });
        return finish(ctx, store, session, key, prepared, now);
      });
      ctx.out.result(resultJson(r), () => renderResult(r));
    } finally {
      store.store.close();
    }
  },
};

const signCmd: Command = {
  path: ['ca', 'sign'],
  summary: 'sign a prepared certificate or CRL (from --dry-run --prepared-out) with the issuer key in the HSM',
  usage: '--prepared FILE --expect-tbs-sha256 HEX (--profile NAME|FILE | --expect-profile-sha256 HEX) --token LABEL --key KEYLABEL [--trust-anchor FILE] [--out FILE]',
  description:
    "Loads a prepared object written by --prepared-out, re-checks it (digest, profile, issuer against the database, lint), and signs exactly those bytes, only when they are the approved ones (--expect-tbs-sha256) and were built with the profile you name (--profile, or its digest with --expect-profile-sha256): a prepared file's own profile and digests prove nothing. This is the second half of prepare → approve → sign.",
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ...PIN_OPTIONS,
    prepared: { type: 'string', valueName: 'FILE', description: 'the prepared object (JSON)' },
    key: { type: 'string', valueName: 'KEYLABEL', description: "label of the issuer's private key" },
    'expect-tbs-sha256': { type: 'string', valueName: 'HEX', description: 'the approved SHA-256 of the prepared bytes (required)' },
    ...PROFILE_OPTIONS,
    'expect-profile-sha256': { type: 'string', valueName: 'HEX', description: 'the SHA-256 of the expected profile (instead of --profile)' },
    out: SIGN_OPTIONS['out'] as OptionSpec,
    ...TRUST_OPTIONS,
    ...RECORD_OPTIONS,
  },
  async run(ctx) {
    const now = new Date();
    const file = need(ctx, 'prepared', 'FILE');
    if (str(ctx, 'expect-tbs-sha256') === undefined || (str(ctx, 'profile') === undefined && str(ctx, 'expect-profile-sha256') === undefined)) {
      throw new CoreError('ERR_PKI_PREPARED_UNVERIFIED', `a prepared file's own profile and digests prove nothing: give the approved digest (--expect-tbs-sha256 HEX) and the profile it must have been built with (--profile NAME|FILE or --expect-profile-sha256 HEX); nothing was signed`);
    }
    let json: unknown;
    try {
      json = JSON.parse(readInput(ctx, file, 'the prepared file', 16 * 1024 * 1024).toString('utf8'));
    } catch (e) {
      if (e instanceof CoreError) throw e;
      throw new CoreError('ERR_INPUT_INVALID', `${file} is not JSON`, { cause: e });
    }
    const named = str(ctx, 'profile') === undefined ? undefined : loadProfileArg(ctx, 'intermediate');
    const label = need(ctx, 'key', 'KEYLABEL');
    refuseExistingOutputs(ctx);
    const store = openCa(ctx);
    try {
      const trustAnchors = trustAnchorsArg(ctx);
      const expectProfile = str(ctx, 'expect-profile-sha256');
      const prepared = preparedFromJson(json, {
        store,
        expectTbsSha256: str(ctx, 'expect-tbs-sha256') as string,
        ...(named === undefined ? {} : { profile: named }),
        ...(expectProfile === undefined ? {} : { expectProfileSha256: expectProfile }),
        ...(trustAnchors.length === 0 ? {} : { trustAnchors }),
      });
      const r = await withSession(ctx, (session) => finish(ctx, store, session, findPrivateKey(session, label), prepared, now));
      ctx.out.result(resultJson(r), () => renderResult(r));
    } finally {
      store.store.close();
    }
  },
};

const revoke: Command = {
  path: ['ca', 'revoke'],
  summary: 'record the revocation of a certificate issued here (the next CRL lists it)',
  usage: `(--serial HEX | --cert FILE) --reason (${REVOCATION_REASONS.join('|')}) [--invalidity-date TIME]`,
  options: {
    serial: { type: 'string', valueName: 'HEX', description: 'serial number (hex, colons allowed)' },
    cert: { type: 'string', valueName: 'FILE', description: 'the certificate to revoke (PEM or DER)' },
    reason: { type: 'string', valueName: 'REASON', description: `one of ${REVOCATION_REASONS.join(', ')}` },
    'invalidity-date': { type: 'string', valueName: 'TIME', description: 'when the key was (suspected) compromised (ISO-8601)' },
    ...RECORD_OPTIONS,
  },
  run(ctx) {
    const now = new Date();
    const serialArg = str(ctx, 'serial');
    const certArg = str(ctx, 'cert');
    if ((serialArg === undefined) === (certArg === undefined)) throw new CoreError('ERR_USAGE', 'give exactly one of --serial HEX or --cert FILE');
    const serial = serialArg ?? parseCertificate(readInput(ctx, certArg as string, 'the certificate', 1024 * 1024), certArg).serial;
    const reason = need(ctx, 'reason', 'REASON');
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new CoreError('ERR_USAGE', `--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
    const invalidityDate = parseTime(ctx, 'invalidity-date');
    const store = openCa(ctx);
    try {
      const rec = revokeCertificate(store, { serial, reason: reason as CrlReasonName, revokedAt: now, now, ceremony: ceremonyRef(ctx, now), ...(invalidityDate === undefined ? {} : { invalidityDate }) });
      ctx.out.result(rec, () => `Revoked certificate ${rec.serial} (${rec.reason}) at ${rec.revokedAt}. Issue a new CRL with 'neam-ca ca crl' to publish it.`);
    } finally {
      store.store.close();
    }
    return Promise.resolve();
  },
};

const csr: Command = {
  path: ['ca', 'csr'],
  summary: 'create a PKCS#10 CSR for a key in the HSM (e.g. an online intermediate key)',
  usage: '--token LABEL --key KEYLABEL [--generate rsa-2048] --subject DN [--out FILE]',
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ...PIN_OPTIONS,
    key: { type: 'string', valueName: 'KEYLABEL', description: 'label of the private key' },
    generate: { type: 'string', valueName: 'TYPE', description: 'generate the key first (rsa-2048, ec-p256, …); refused if the label exists' },
    subject: { type: 'string', valueName: 'DN', description: 'subject, e.g. "CN=online intermediate 1" (informational: the root decides the certificate subject)' },
    out: { type: 'string', valueName: 'FILE', description: 'write the CSR (PEM) to FILE (must not exist)' },
  },
  async run(ctx) {
    const label = need(ctx, 'key', 'KEYLABEL');
    const subject = subjectArg(ctx) ?? {};
    refuseExistingOutputs(ctx);
    const r = await withSession(ctx, (session) => {
      const gen = str(ctx, 'generate');
      let key: KeyRef;
      if (gen !== undefined) {
        if (session.findKeys({ label }).length > 0) throw new CoreError('ERR_HSM_OBJECT_EXISTS', `a key labelled '${label}' already exists on the token; choose another label`);
        key = session.generateKeyPair(parseKeySpec(gen), { label }).privateKey;
      } else {
        key = findPrivateKey(session, label);
      }
      const spki = session.publicKeySpki(key);
      const k = decodeSpki(spki);
      const alg = signAlgorithmFor(spki, k.type === 'EC' && k.curve === 'P-384' ? 'SHA-384' : 'SHA-256');
      const built = buildCsr({ subject, signer: hsmSigner(session, key, alg) });
      return { pem: toPem(PEM_LABEL.csr, built.der), summary: summarizeCsr(built.info) };
    });
    const out = writeOut(ctx, 'out', r.pem);
    ctx.out.result({ ...r, ...(out === undefined ? {} : { out }) }, () => `${formatCsr(r.summary)}\n${out === undefined ? r.pem.trimEnd() : `Written to ${out}`}`);
  },
};

const list: Command = {
  path: ['ca', 'list'],
  summary: 'list the certificates, revocations and CRLs recorded in the PKI database',
  usage: '[--db FILE]',
  options: { ...STORE_OPTIONS },
  run(ctx) {
    const store = openCa(ctx);
    try {
      const certs = store.certificates();
      const issuers = [...new Set(certs.map((c) => c.issuerSpkiSha256))];
      const crls = issuers.flatMap((i) => store.crls(i));
      const revs = issuers.flatMap((i) => store.revocations(i));
      const revoked = new Set(revs.map((r) => r.serial));
      const value = { certificates: certs.map(({ pem: _pem, ...rest }) => rest), revocations: revs, crls: crls.map(({ pem: _pem, ...rest }) => rest) };
      ctx.out.result(value, () =>
        [
          certs.length === 0 ? 'No certificates recorded.' : table(['SERIAL', 'ROLE', 'SUBJECT', 'NOT AFTER', 'PROFILE', 'STATUS', 'CEREMONY'], certs.map((c) => [c.serial, c.role, c.subject, c.notAfter, c.profile, revoked.has(c.serial) ? 'revoked' : 'issued', `${c.ceremony.id}${c.ceremony.rehearsal === true ? ' (rehearsal)' : ''}`])),
          ...(crls.length === 0 ? [] : ['', table(['ISSUER', 'CRL NUMBER', 'THIS UPDATE', 'NEXT UPDATE', 'REVOKED'], crls.map((c) => [c.issuer, String(c.crlNumber), c.thisUpdate, c.nextUpdate, String(c.revokedCount)]))]),
        ].join('\n'),
      );
    } finally {
      store.store.close();
    }
    return Promise.resolve();
  },
};

/** One inspected object. */
interface Inspected {
  kind: 'certificate' | 'csr' | 'crl';
  summary: unknown;
  signature?: string;
  text: string;
}

function inspectDer(der: Buffer, source: string): Inspected {
  const kind = detectKind(der, source);
  if (kind === 'certificate') {
    const c = parseCertificate(der, source);
    const s = summarizeCertificate(c);
    let signature: string | undefined;
    if (c.selfIssued) signature = checkSignature(c.signatureAlgorithm, c.spki, c.tbsDer, c.signatureValue).ok ? 'self-signature valid' : 'self-signature INVALID';
    return { kind, summary: s, ...(signature === undefined ? {} : { signature }), text: `${formatCertificate(s)}${signature === undefined ? '' : `\nSignature check:  ${signature}`}` };
  }
  if (kind === 'csr') {
    const c = parseCsr(der, source);
    const s = summarizeCsr(c);
    const signature = checkSignature(c.signatureAlgorithm, c.spki, c.infoDer, c.signatureValue).ok ? 'valid' : 'INVALID';
    return { kind, summary: s, signature, text: formatCsr(s, signature) };
  }
  const c = parseCrl(der, source);
  const s = summarizeCrl(c);
  return { kind, summary: s, text: formatCrl(s) };
}

const inspect: Command = {
  path: ['inspect'],
  summary: 'show a certificate, CSR or CRL (PEM or DER; several PEM blocks allowed) in readable form',
  usage: 'FILE',
  positionals: { names: ['FILE'], min: 1, max: 1 },
  description: 'Decodes with the strict parser NEAM CA itself uses: trailing junk, BER, unknown PEM labels and truncated input are refused with a code. Self-signed certificates and CSRs have their signature checked.',
  run(ctx) {
    const path = ctx.positionals[0] as string;
    const data = readInput(ctx, path, 'the file');
    const objects: Inspected[] = [];
    if (looksLikePem(data)) {
      const blocks = parsePem(data, { labels: [PEM_LABEL.certificate, PEM_LABEL.csr, 'NEW CERTIFICATE REQUEST', PEM_LABEL.crl], source: path, maxBytes: 32 * 1024 * 1024 });
      blocks.forEach((b, i) => objects.push(inspectDer(b.der, blocks.length > 1 ? `${path} block ${i + 1}` : path)));
    } else {
      objects.push(inspectDer(data, path));
    }
    ctx.out.result(objects.length === 1 ? { kind: objects[0]?.kind, summary: objects[0]?.summary, ...(objects[0]?.signature === undefined ? {} : { signature: objects[0].signature }) } : objects.map(({ text: _t, ...o }) => o), () => objects.map((o) => o.text).join('\n\n'));
    return Promise.resolve();
  },
};

/** `neam-ca ca …` commands. */
export const CA_COMMANDS: Command[] = [root, intermediate, crl, signCmd, revoke, csr, list];
/** `neam-ca inspect`. */
export const INSPECT_COMMANDS: Command[] = [inspect];
