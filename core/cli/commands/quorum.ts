/**
 * @module cli/commands/quorum
 * The custodians' commands. `neam-ca approve REQUEST --custodian FILE` lets a custodian review an
 * approval request on their own machine (the to-be-signed bytes are decoded and hashed locally,
 * the digest is shown as hex and PGP words) and sign an approval or a decline. `neam-ca quorum …`
 * enrols a quorum on a token (rehearsals, headless set-ups), runs drills, rotates custodians,
 * builds approval requests, checks approvals, changes a custodian's passphrase, shows files and
 * prints digest words.
 *
 * Passphrases are only ever typed at a no-echo prompt (never arguments, files or environment
 * variables): a custodian's passphrase is theirs to type.
 *
 * Must never: print, log or write a passphrase, share or the activation secret; leave custodian
 * files of a failed enrolment or rotation behind; overwrite an existing file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import type { HsmSession } from '../../hsm/types.ts';
import {
  ActivationSession,
  approvalTargetOf,
  beginRotation,
  changeCustodianPassphrase,
  checkCustodianFileTrust,
  checkNewPassphrase,
  createApprovalRequest,
  describeTbs,
  evaluateApprovals,
  formatDigestWords,
  initTokenWithTemporaryPins,
  mixedRandom,
  openCustodianFile,
  parseApproval,
  parseApprovalRequest,
  parseCustodianFile,
  parseRoster,
  QuorumEnrollment,
  rosterDigest,
  rosterGovernsSoPin,
  serializeApproval,
  serializeApprovalRequest,
  serializeCustodianFile,
  serializeRoster,
  signApproval,
  checkQuorum,
  normalizeApprovalKeySha256,
  type ApprovalRequest,
  type CustodianFile,
  type CustodianFileTrust,
  type Roster,
  type TbsField,
} from '../../quorum/index.ts';
import { digestWords } from '../../quorum/words.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { Secret } from '../../util/secret.ts';
import type { Command, CommandContext } from '../command.ts';
import { MODULE_OPTIONS, openHsmFrom, tokenSelectorFrom, TOKEN_OPTIONS } from '../hsm-options.ts';
import { table } from '../render.ts';
import { obtainSecret } from '../secret-input.ts';

/** Attempts a person gets to type an acceptable new passphrase. */
const NEW_PASSPHRASE_ATTEMPTS = 3;
/** Largest input file read by these commands. */
const MAX_INPUT_BYTES = 2 * 1024 * 1024;

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

function strs(ctx: CommandContext, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

function required(ctx: CommandContext, name: string, placeholder: string): string {
  const v = str(ctx, name);
  if (v === undefined || v === '') throw new CoreError('ERR_USAGE', `--${name} ${placeholder} is required`);
  return v;
}

function int(ctx: CommandContext, name: string, placeholder: string): number {
  const v = required(ctx, name, placeholder);
  if (!/^\d{1,3}$/u.test(v)) throw new CoreError('ERR_USAGE', `--${name} must be a whole number (got '${v}')`);
  return Number(v);
}

/** Reads an input file (bounded). */
function readInput(ctx: CommandContext, path: string, what: string): Buffer {
  const full = resolve(ctx.cwd, path);
  let size: number;
  try {
    const st = statSync(full);
    if (!st.isFile()) throw new CoreError('ERR_IO', `the ${what} ${full} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_NOT_FOUND', `cannot read the ${what} ${full}: it does not exist or is not accessible`, { cause: e });
  }
  if (size > MAX_INPUT_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `the ${what} ${full} is ${size} bytes; that is too large for a ${what}`);
  return readFileSync(full);
}

const readRoster = (ctx: CommandContext, path: string): Roster => parseRoster(readInput(ctx, path, 'roster'), path);
const readCustodian = (ctx: CommandContext, path: string): CustodianFile => parseCustodianFile(readInput(ctx, path, 'custodian file'), path);

/** What vouches for a custodian's file on their own machine: --roster and/or --approval-key-sha256. */
function custodianTrust(ctx: CommandContext): CustodianFileTrust {
  const rosterPath = str(ctx, 'roster');
  const pinned = str(ctx, 'approval-key-sha256');
  return { ...(rosterPath === undefined ? {} : { roster: readRoster(ctx, rosterPath) }), ...(pinned === undefined ? {} : { approvalKeySha256: normalizeApprovalKeySha256(pinned) }) };
}

/** A file-system-safe slug of a custodian name. */
export function custodianSlug(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/gu, '-')
    .replace(/^-+|-+$/gu, '');
  return slug === '' ? 'custodian' : slug.slice(0, 40);
}

/** Asks a custodian for a new passphrase twice (no echo), re-asking up to 3 times on a rule violation. */
async function askNewPassphrase(ctx: CommandContext, name: string): Promise<{ passphrase: Secret; confirmation: Secret }> {
  for (let attempt = 1; ; attempt++) {
    const passphrase = await ctx.prompt.secret(`Custodian '${name}', choose your passphrase (at least 12 characters, not shown): `);
    const confirmation = await ctx.prompt.secret(`Custodian '${name}', type it again: `);
    try {
      checkNewPassphrase(passphrase, confirmation, name);
      return { passphrase, confirmation };
    } catch (e) {
      passphrase.wipe();
      confirmation.wipe();
      if (!(e instanceof CoreError) || attempt >= NEW_PASSPHRASE_ATTEMPTS) throw e;
      ctx.out.status(`${e.message}. Please try again (${NEW_PASSPHRASE_ATTEMPTS - attempt} attempt(s) left).`);
    }
  }
}

const askPassphrase = (ctx: CommandContext, file: CustodianFile): Promise<Secret> => ctx.prompt.secret(`Custodian '${file.custodian}', your passphrase (not shown): `);

/** Writes a new file (never overwriting) and reads it back to prove the medium holds it. */
function writeVerified(path: string, text: string, mode: number): void {
  writeFileExclusive(path, text, mode);
  if (readFileSync(path, 'utf8') !== text) throw new CoreError('ERR_IO', `${path} does not read back as written; the medium may be faulty. Use another one`);
}

/** Removes files written by a failed command (they open nothing, but leave no clutter). */
function removeAll(paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

function prepareOutDir(ctx: CommandContext): string {
  const out = resolve(ctx.cwd, required(ctx, 'out', 'DIR'));
  mkdirSync(out, { recursive: true, mode: 0o700 });
  return out;
}

const hostRandom = (n: number): Buffer => randomBytes(n);

/** Enrols custodians one by one into `out`; returns the enrolment and written paths. */
async function enrolInto(ctx: CommandContext, names: string[], out: string, add: (name: string, p: { passphrase: Secret; confirmation: Secret }) => Promise<CustodianFile>, written: string[]): Promise<void> {
  for (const [i, name] of names.entries()) {
    ctx.out.status(`\nCustodian ${i + 1} of ${names.length}: ${name}`);
    const p = await askNewPassphrase(ctx, name);
    let file: CustodianFile;
    try {
      file = await add(name, p);
    } finally {
      p.passphrase.wipe();
      p.confirmation.wipe();
    }
    const path = join(out, `custodian-${file.shareIndex}-${custodianSlug(file.custodian)}.json`);
    if (existsSync(path)) throw new CoreError('ERR_ALREADY_EXISTS', `${path} already exists; custodian files are never overwritten. Choose an empty --out folder`);
    written.push(path);
    writeVerified(path, serializeCustodianFile(file), 0o600);
    ctx.out.status(`  sealed and verified: ${path} (give it to ${file.custodian} on their own medium)`);
    ctx.out.status(`  ${file.custodian}, write down your approval-key fingerprint (SHA-256); it confirms your file on your own machine (--approval-key-sha256):\n    ${file.approvalKey.sha256}`);
  }
}

function rosterSummary(roster: Roster): string {
  const digest = rosterDigest(roster);
  return [
    `Quorum ${roster.quorumId} of ceremony '${roster.ceremony}', generation ${roster.generation}: ${roster.threshold} of ${roster.custodians.length}`,
    rosterGovernsSoPin(roster) ? 'It governs both token PINs (user and security officer).' : "WARNING: it does not govern the token's security officer PIN; whoever knows that PIN can bypass the quorum. Rotate with --so-pin-file to put it under the quorum.",
    table(
      ['SHARE', 'CUSTODIAN', 'APPROVAL KEY SHA-256'],
      roster.custodians.map((c) => [String(c.shareIndex), c.name, c.approvalKey.sha256]),
    ),
    `Roster SHA-256 (record it in the transcript): ${digest}`,
    formatDigestWords(digest),
  ].join('\n');
}

const enroll: Command = {
  path: ['quorum', 'enroll'],
  summary: "enrol M-of-N custodians and put both token PINs (user and security officer) under the quorum",
  usage: '--ceremony ID --threshold M --custodian NAME... --out DIR --token LABEL [--serial S] (--init-token | --so-pin-file FILE)',
  description:
    "Draws a random 256-bit activation secret (host and HSM randomness mixed), splits it M-of-N, and enrols each custodian in turn: they type a passphrase twice (not shown), and their sealed custodian file is written to DIR and read back. DIR/roster.json is written. Then, logged in as security officer, the token's SO PIN is changed to one derived from the secret (C_SetPIN) and its user PIN is set to another (C_InitPIN): the SO PIN used here stops working, and both PINs are reachable only with M custodians. Nobody sees either PIN. With --init-token a free slot is initialised as LABEL with random temporary PINs that never leave memory (the way to create a root token); otherwise the token's current SO PIN is read from --so-pin-file, $NEAM_CA_SO_PIN or a prompt, and checked before anyone enrols. If anything fails before the SO PIN changed, the files written are removed and the token is unchanged; after that, the files are kept (they are the only way in).",
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ceremony: { type: 'string', valueName: 'ID', description: 'ceremony id' },
    threshold: { type: 'string', valueName: 'M', description: 'custodians needed' },
    custodian: { type: 'string', multiple: true, valueName: 'NAME', description: 'a custodian, in share order (repeat N times)' },
    out: { type: 'string', valueName: 'DIR', description: 'folder for the custodian files and roster.json' },
    'init-token': { type: 'boolean', description: 'initialise a free slot as --token LABEL with temporary PINs that exist only in memory' },
    'so-pin-file': { type: 'string', valueName: 'FILE', description: "file with the token's current SO PIN (mode 0600); else $NEAM_CA_SO_PIN or a prompt. It stops working after the enrolment" },
  },
  async run(ctx) {
    const ceremony = required(ctx, 'ceremony', 'ID');
    const threshold = int(ctx, 'threshold', 'M');
    const names = strs(ctx, 'custodian');
    const initToken = ctx.values['init-token'] === true;
    if (initToken && str(ctx, 'so-pin-file') !== undefined) throw new CoreError('ERR_USAGE', '--init-token makes its own temporary SO PIN; do not give --so-pin-file');
    const selector = tokenSelectorFrom(ctx);
    const out = prepareOutDir(ctx);
    const rosterPath = join(out, 'roster.json');
    if (existsSync(rosterPath)) throw new CoreError('ERR_ALREADY_EXISTS', `${rosterPath} already exists; choose an empty --out folder`);
    const hsm = openHsmFrom(ctx);
    const written: string[] = [];
    let session: HsmSession | undefined;
    let temporarySoPin: Secret | undefined;
    let enrollment: QuorumEnrollment | undefined;
    try {
      if (initToken) {
        const fresh = initTokenWithTemporaryPins(hsm, selector.label);
        temporarySoPin = fresh.temporarySoPin;
        ctx.out.status(`Initialised token '${fresh.token.label}' (serial ${fresh.token.serial}) with temporary PINs that exist only in this process; the enrolment replaces them.`);
        session = hsm.openSession({ label: fresh.token.label, serial: fresh.token.serial });
      } else {
        session = hsm.openSession(selector);
        temporarySoPin = await obtainSecret(ctx, 'so-pin-file', 'NEAM_CA_SO_PIN', `SO PIN of token '${session.token.label}'`);
        // Prove the SO PIN before anyone types a passphrase.
        session.login(temporarySoPin, 'so');
        session.logout();
      }
      const hsmSession = session;
      enrollment = await QuorumEnrollment.start({ ceremony, threshold, total: names.length, now: new Date(), random: mixedRandom(hostRandom, (n) => hsmSession.random(n)), log: ctx.log });
      const active = enrollment;
      await enrolInto(ctx, names, out, (name, p) => active.addCustodian({ name, ...p }), written);
      // Everything is on disk before the PINs change: afterwards these files are the only way in.
      const pending = active.roster();
      written.push(rosterPath);
      writeVerified(rosterPath, serializeRoster(pending), 0o644);
      const { roster } = await active.commitToToken(hsmSession, { temporarySoPin });
      const files = roster.custodians.map((c) => join(out, `custodian-${c.shareIndex}-${custodianSlug(c.name)}.json`));
      ctx.out.result({ roster: rosterPath, rosterSha256: rosterDigest(roster), files, token: hsmSession.token.label, tokenSerial: hsmSession.token.serial, governsSoPin: rosterGovernsSoPin(roster) }, () =>
        `\nThe token '${hsmSession.token.label}' user PIN and security officer PIN are now derived from the quorum's secret; the SO PIN used for the enrolment no longer works.\nRoster: ${rosterPath}\n${rosterSummary(roster)}`,
      );
    } catch (e) {
      if (enrollment?.soPinChanged === true) ctx.out.status(`The token's SO PIN WAS changed: keep the custodian files and the roster in ${out}.`);
      else {
        removeAll(written);
        if (initToken && session !== undefined) ctx.out.status(`Token '${selector.label}' was initialised but not enrolled; nobody knows its PINs. Initialise another slot for the next attempt.`);
      }
      throw e;
    } finally {
      enrollment?.abort();
      temporarySoPin?.wipe();
      session?.close();
      hsm.close();
    }
  },
};

/** Runs an activation session over the given custodian files, prompting each passphrase. */
async function collect(ctx: CommandContext, roster: Roster, paths: string[], activation: ActivationSession): Promise<void> {
  for (const path of paths) {
    const { file } = activation.precheck(readInput(ctx, path, 'custodian file'), path);
    const passphrase = await askPassphrase(ctx, file);
    try {
      const p = await activation.addCustodian(file, passphrase, path);
      ctx.out.status(`  accepted: ${p.custodian} (share ${p.shareIndex}); ${p.complete ? `threshold of ${roster.threshold} reached` : `${p.remaining} more needed`}`);
    } finally {
      passphrase.wipe();
    }
  }
}

const drill: Command = {
  path: ['quorum', 'drill'],
  summary: 'prove that a set of custodians still reaches the threshold (no token, no login)',
  usage: '--roster FILE --custodian FILE...',
  description:
    'Each custodian types their passphrase; their file is checked against the roster, opened, and their share checked against its commitment. With M or more, every M-subset is combined and checked against the activation commitment. The token is not used. Exit 1 (ERR_QUORUM_NOT_MET) when fewer than M custodians succeed.',
  options: {
    roster: { type: 'string', valueName: 'FILE', description: 'the quorum roster (roster.json)' },
    custodian: { type: 'string', multiple: true, valueName: 'FILE', description: 'a custodian file (repeat for each custodian present)' },
  },
  async run(ctx) {
    const roster = readRoster(ctx, required(ctx, 'roster', 'FILE'));
    const activation = new ActivationSession(roster, { log: ctx.log });
    try {
      await collect(ctx, roster, strs(ctx, 'custodian'), activation);
      const report = await activation.drill(new Date());
      ctx.out.result(report, () => `Drill passed: ${report.custodians.map((c) => c.name).join(', ')} rebuild the committed activation secret of quorum ${report.quorumId} (generation ${report.generation}); ${report.subsetsChecked} subset(s) of ${report.threshold} checked. The token was not used.`);
    } finally {
      activation.wipe();
    }
  },
};

const rotate: Command = {
  path: ['quorum', 'rotate'],
  summary: 'replace custodians or change M, with the current quorum present; changes the token PIN',
  usage: '--roster FILE --custodian FILE... --new-custodian NAME... --threshold M --out DIR --token LABEL [--serial S] [--so-pin-file FILE]',
  description:
    "The current custodians (at least M) type their passphrases; then each new custodian chooses a passphrase and gets a new custodian file in DIR, and DIR/roster.json is written. Only then do the token PINs change: logged in as security officer with the current quorum's SO PIN, the SO PIN is changed (C_SetPIN) and the user PIN set (C_InitPIN) to the new quorum's, and both are proven by logging in. Old custodian files stop working. If anything fails before the SO PIN change, the new files are removed and the old quorum stays valid. --so-pin-file is needed only for a roster that does not govern the SO PIN yet (the rotation puts it under the new quorum).",
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    roster: { type: 'string', valueName: 'FILE', description: 'the current roster' },
    custodian: { type: 'string', multiple: true, valueName: 'FILE', description: 'a current custodian file (at least M)' },
    'new-custodian': { type: 'string', multiple: true, valueName: 'NAME', description: 'a custodian of the new quorum, in share order' },
    threshold: { type: 'string', valueName: 'M', description: 'the new threshold' },
    out: { type: 'string', valueName: 'DIR', description: 'folder for the new custodian files and roster.json' },
    'so-pin-file': { type: 'string', valueName: 'FILE', description: "the token's current SO PIN, only for a roster that does not govern it yet" },
  },
  async run(ctx) {
    const roster = readRoster(ctx, required(ctx, 'roster', 'FILE'));
    if (rosterGovernsSoPin(roster) && str(ctx, 'so-pin-file') !== undefined) {
      throw new CoreError('ERR_USAGE', `quorum ${roster.quorumId} governs the token's SO PIN already: its custodians stand for it; do not give --so-pin-file`);
    }
    const names = strs(ctx, 'new-custodian');
    const threshold = int(ctx, 'threshold', 'M');
    const out = prepareOutDir(ctx);
    const rosterPath = join(out, 'roster.json');
    if (existsSync(rosterPath)) throw new CoreError('ERR_ALREADY_EXISTS', `${rosterPath} already exists; choose an empty --out folder`);
    const hsm = openHsmFrom(ctx);
    const written: string[] = [];
    let keepNewFiles = false;
    let session: HsmSession | undefined;
    const activation = new ActivationSession(roster, { log: ctx.log });
    try {
      session = hsm.openSession(tokenSelectorFrom(ctx));
      ctx.out.status(`Current quorum: ${roster.threshold} of the custodians of generation ${roster.generation} must unlock their shares.`);
      const currentSoPin = rosterGovernsSoPin(roster) ? undefined : await obtainSecret(ctx, 'so-pin-file', 'NEAM_CA_SO_PIN', `current SO PIN of token '${session.token.label}' (this quorum does not govern it yet)`);
      await collect(ctx, roster, strs(ctx, 'custodian'), activation);
      const hsmSession = session;
      let rotation: Awaited<ReturnType<typeof beginRotation>>;
      try {
        rotation = await beginRotation(activation, { threshold, total: names.length, now: new Date(), random: mixedRandom(hostRandom, (n) => hsmSession.random(n)), log: ctx.log, ...(currentSoPin === undefined ? {} : { currentSoPin }) });
      } finally {
        currentSoPin?.wipe();
      }
      try {
        await enrolInto(ctx, names, out, (name, p) => rotation.addCustodian({ name, ...p }), written);
        // The new roster is on disk before the PIN changes (it becomes current with the change).
        const files = [...written];
        written.push(rosterPath);
        writeVerified(rosterPath, serializeRoster(rotation.pendingRoster()), 0o644);
        let next: Roster;
        try {
          ({ roster: next } = await rotation.commit(session));
        } finally {
          keepNewFiles = rotation.pinChanged;
        }
        session.logout();
        ctx.out.result({ roster: rosterPath, rosterSha256: rosterDigest(next), retiredQuorumId: roster.quorumId, files }, () => `\nThe token PINs were changed (user and security officer); the old custodian files no longer open it.\nNew roster: ${rosterPath}\n${rosterSummary(next)}`);
      } finally {
        if (!keepNewFiles) rotation.abort();
      }
    } catch (e) {
      if (!keepNewFiles) removeAll(written);
      else ctx.out.status(`The token's SO PIN WAS changed: keep the new custodian files and roster in ${out}.`);
      throw e;
    } finally {
      activation.wipe();
      session?.close();
      hsm.close();
    }
  },
};

const request: Command = {
  path: ['quorum', 'request'],
  summary: 'build an approval request for exact to-be-signed bytes (a DER tbsCertificate or tbsCertList)',
  usage: '--roster FILE --operation OP --tbs FILE --out FILE [--subject TEXT] [--valid-hours N]',
  options: {
    roster: { type: 'string', valueName: 'FILE', description: 'the current roster' },
    operation: { type: 'string', valueName: 'OP', description: 'sign-intermediate, sign-crl or sign-root-certificate' },
    tbs: { type: 'string', valueName: 'FILE', description: 'the DER to-be-signed bytes' },
    subject: { type: 'string', valueName: 'TEXT', description: 'one-line summary (default: decoded from the bytes)' },
    'valid-hours': { type: 'string', valueName: 'N', description: 'hours the request and its approvals stay valid (default 24, at most 720)' },
    out: { type: 'string', valueName: 'FILE', description: 'the request file to write (never overwritten)' },
  },
  run(ctx) {
    const roster = readRoster(ctx, required(ctx, 'roster', 'FILE'));
    const tbsDer = readInput(ctx, required(ctx, 'tbs', 'FILE'), 'TBS file');
    const hours = str(ctx, 'valid-hours') === undefined ? 24 : int(ctx, 'valid-hours', 'N');
    if (hours < 1 || hours > 720) throw new CoreError('ERR_USAGE', '--valid-hours must be between 1 and 720');
    const subject = str(ctx, 'subject');
    const req = createApprovalRequest({ roster, operation: required(ctx, 'operation', 'OP'), tbsDer, now: new Date(), validForMs: hours * 3_600_000, random: hostRandom, ...(subject === undefined ? {} : { subject }) });
    const out = resolve(ctx.cwd, required(ctx, 'out', 'FILE'));
    writeVerified(out, serializeApprovalRequest(req), 0o644);
    ctx.out.result({ request: out, requestId: req.requestId, tbsSha256: req.tbsSha256, words: req.words, expiresAt: req.expiresAt }, () => `Approval request ${req.requestId} written to ${out} (expires ${req.expiresAt}).\nTBS SHA-256: ${req.tbsSha256}\n${formatDigestWords(req.tbsSha256)}`);
    return Promise.resolve();
  },
};

function groupedHex(hex: string): string {
  return (hex.match(/.{1,4}/gu) ?? []).join(' ');
}

/** What the reviewer sees before deciding. */
function reviewText(req: ApprovalRequest, file: CustodianFile): string {
  const lines: string[] = [
    `Approval request ${req.requestId}`,
    `  ceremony '${req.ceremony}', quorum ${req.quorumId} (generation ${req.generation}), ${req.threshold} of ${req.custodians.length} approvals needed`,
    `  operation:  ${req.operation}`,
    `  summary:    ${req.subject}`,
    `  requested:  ${req.createdAt}    expires: ${req.expiresAt}`,
    '',
  ];
  let fields: TbsField[];
  if (req.tbs !== undefined) {
    const local = describeTbs(Buffer.from(req.tbs, 'base64'));
    fields = local.fields;
    lines.push('Decoded ON THIS MACHINE from the exact bytes that will be signed:');
    const same = req.fields.length === local.fields.length && req.fields.every((f, i) => f.label === local.fields[i]?.label && f.value === local.fields[i]?.value);
    if (req.fields.length > 0 && !same) lines.push('  WARNING: the request\'s own description of these bytes differs from what they contain. Decline unless you know why.');
  } else {
    fields = req.fields;
    lines.push('WARNING: the request carries only the digest, not the bytes; the fields below come from the request and could not be checked here:');
  }
  const width = Math.min(32, Math.max(...fields.map((f) => f.label.length), 8));
  for (const f of fields) lines.push(`  ${f.label.padEnd(width)}  ${f.value}`);
  lines.push('', 'TBS SHA-256 (compare with the ceremony screen):', `  ${groupedHex(req.tbsSha256)}`, 'Read aloud:');
  lines.push(...formatDigestWords(req.tbsSha256).split('\n').map((l) => `  ${l}`));
  lines.push('', `You are custodian '${file.custodian}' (share ${file.shareIndex} of ${file.total}).`);
  return lines.join('\n');
}

const approve: Command = {
  path: ['approve'],
  summary: 'review an approval request and sign an approval (or a decline) with your custodian file',
  usage: 'REQUEST --custodian FILE [--roster FILE] [--approval-key-sha256 HEX] [--out FILE]',
  description:
    'Shows the request with the to-be-signed bytes decoded and hashed on this machine, the SHA-256 as hex and as PGP words to read aloud, asks you to type "approve" or "decline", then your passphrase (not shown), and writes a signed approval file to bring back to the ceremony. Only your approval key is unsealed; your share is not touched.',
  positionals: { names: ['REQUEST'], min: 1, max: 1 },
  options: {
    custodian: { type: 'string', valueName: 'FILE', description: 'your custodian file' },
    out: { type: 'string', valueName: 'FILE', description: 'where to write the approval (default: approval-<request>-<you>.json beside the request)' },
    roster: { type: 'string', valueName: 'FILE', description: 'the roster: confirms that your custodian file is genuine before the passphrase is tried' },
    'approval-key-sha256': { type: 'string', valueName: 'HEX', description: 'your approval-key fingerprint as printed at your enrolment (confirms the file without the roster)' },
  },
  async run(ctx) {
    const requestPath = ctx.positionals[0] as string;
    const req = parseApprovalRequest(readInput(ctx, requestPath, 'approval request'), requestPath);
    const file = readCustodian(ctx, required(ctx, 'custodian', 'FILE'));
    if (file.ceremony !== req.ceremony || file.quorumId !== req.quorumId) {
      throw new CoreError('ERR_QUORUM_SHARE_FOREIGN', `this request is for ceremony '${req.ceremony}' quorum ${req.quorumId} (generation ${req.generation}); your custodian file is for '${file.ceremony}' quorum ${file.quorumId} (generation ${file.generation}). Use the custodian file of this quorum`);
    }
    const now = new Date();
    if (now.getTime() >= Date.parse(req.expiresAt)) throw new CoreError('ERR_QUORUM_APPROVAL_EXPIRED', `the request expired at ${req.expiresAt}; ask for a new one`);
    const trust = custodianTrust(ctx);
    // Before anything is shown or typed: is this the custodian's genuine file?
    const confirmed = checkCustodianFileTrust(file, basename(required(ctx, 'custodian', 'FILE')), trust);
    const out = resolve(ctx.cwd, str(ctx, 'out') ?? join(dirname(resolve(ctx.cwd, requestPath)), `approval-${req.requestId.slice(0, 8)}-${custodianSlug(file.custodian)}.json`));
    if (existsSync(out)) throw new CoreError('ERR_ALREADY_EXISTS', `${out} already exists; it is never overwritten. Use --out`);
    ctx.out.status(reviewText(req, file));
    if (!confirmed) ctx.out.status('Note: without --roster or --approval-key-sha256 this machine cannot confirm that your custodian file is genuine (its approval key SHA-256 is ' + file.approvalKey.sha256 + '; compare it with the fingerprint you wrote down at enrolment).');
    const answer = (await ctx.prompt.line('\nType "approve" to approve exactly these bytes, or "decline": ')).trim();
    if (answer !== 'approve' && answer !== 'decline') {
      throw new CoreError('ERR_USAGE', `nothing was signed: the answer must be exactly "approve" or "decline"`);
    }
    const passphrase = await askPassphrase(ctx, file);
    let opened;
    try {
      opened = await openCustodianFile(file, passphrase, { approvalKey: true }, basename(required(ctx, 'custodian', 'FILE')), trust);
    } finally {
      passphrase.wipe();
    }
    const approval = signApproval({ request: req, custodianFile: file, approvalKey: opened.approvalKey as NonNullable<typeof opened.approvalKey>, decision: answer, now });
    writeVerified(out, serializeApproval(approval), 0o644);
    ctx.out.result({ approval: out, decision: answer, custodian: file.custodian, requestId: req.requestId, tbsSha256: req.tbsSha256 }, () => `${answer === 'approve' ? 'Approval' : 'DECLINE'} signed by '${file.custodian}' and written to ${out}. Bring it back to the ceremony.`);
  },
};

const check: Command = {
  path: ['quorum', 'check'],
  summary: 'check approval files against a request and the roster (what the ceremony does before signing)',
  usage: '--roster FILE --request FILE --approval FILE...',
  options: {
    roster: { type: 'string', valueName: 'FILE', description: 'the current roster' },
    request: { type: 'string', valueName: 'FILE', description: 'the approval request' },
    approval: { type: 'string', multiple: true, valueName: 'FILE', description: 'an approval file (repeat)' },
  },
  run(ctx) {
    const roster = readRoster(ctx, required(ctx, 'roster', 'FILE'));
    const reqPath = required(ctx, 'request', 'FILE');
    const req = parseApprovalRequest(readInput(ctx, reqPath, 'approval request'), reqPath);
    const presented = strs(ctx, 'approval').map((p) => ({ bytes: readInput(ctx, p, 'approval'), source: p }));
    const now = new Date();
    const ev = evaluateApprovals(roster, approvalTargetOf(req), presented, now);
    if (!ctx.json) {
      const rows = presented.map((p, i) => {
        const finding = ev.findings.find((f) => f.index === i);
        const ok = ev.accepted.find((a) => a.index === i);
        return [p.source, finding?.custodian ?? ok?.custodian ?? '?', finding === undefined ? 'counts' : finding.code];
      });
      ctx.out.text(table(['FILE', 'CUSTODIAN', 'RESULT'], rows));
    }
    const decision = checkQuorum(roster, approvalTargetOf(req), presented, now, ctx.log);
    ctx.out.result(decision, () => `Quorum met: ${decision.approvals.map((a) => a.custodian).join(', ')} approved ${decision.operation} of TBS SHA-256 ${decision.tbsSha256}.`);
    return Promise.resolve();
  },
};

const passphrase: Command = {
  path: ['quorum', 'passphrase'],
  summary: 'change the passphrase of your custodian file (writes a new file; the share and key stay the same)',
  usage: '--custodian FILE --out FILE [--roster FILE] [--approval-key-sha256 HEX]',
  options: {
    custodian: { type: 'string', valueName: 'FILE', description: 'your current custodian file' },
    out: { type: 'string', valueName: 'FILE', description: 'the new custodian file (never overwritten)' },
    roster: { type: 'string', valueName: 'FILE', description: 'check the file against the roster first' },
    'approval-key-sha256': { type: 'string', valueName: 'HEX', description: 'your approval-key fingerprint as printed at your enrolment (checks the file without the roster)' },
  },
  async run(ctx) {
    const file = readCustodian(ctx, required(ctx, 'custodian', 'FILE'));
    const trust = custodianTrust(ctx);
    const out = resolve(ctx.cwd, required(ctx, 'out', 'FILE'));
    if (existsSync(out)) throw new CoreError('ERR_ALREADY_EXISTS', `${out} already exists; it is never overwritten`);
    const old = await askPassphrase(ctx, file);
    let fresh: { passphrase: Secret; confirmation: Secret } | undefined;
    try {
      fresh = await askNewPassphrase(ctx, file.custodian);
      const renewed = await changeCustodianPassphrase({ file, oldPassphrase: old, newPassphrase: fresh.passphrase, confirmation: fresh.confirmation, random: hostRandom, ...trust });
      writeVerified(out, serializeCustodianFile(renewed), 0o600);
      ctx.out.result({ custodianFile: out }, () => `New custodian file written to ${out}. Check that it works (neam-ca quorum drill, or approve a request), then destroy the old one.`);
    } finally {
      old.wipe();
      fresh?.passphrase.wipe();
      fresh?.confirmation.wipe();
    }
  },
};

const words: Command = {
  path: ['quorum', 'words'],
  summary: 'print a digest (hex) as PGP words for reading aloud',
  usage: 'HEX',
  positionals: { names: ['HEX'], min: 1, max: 1 },
  run(ctx) {
    const hex = ctx.positionals[0] as string;
    const list = digestWords(hex);
    ctx.out.result({ words: list }, () => formatDigestWords(hex));
    return Promise.resolve();
  },
};

const show: Command = {
  path: ['quorum', 'show'],
  summary: 'show the public content of a roster, custodian file, approval request or approval',
  usage: 'FILE',
  positionals: { names: ['FILE'], min: 1, max: 1 },
  run(ctx) {
    const path = ctx.positionals[0] as string;
    const bytes = readInput(ctx, path, 'file');
    let format: unknown;
    try {
      format = (JSON.parse(bytes.toString('utf8')) as { format?: unknown }).format;
    } catch {
      format = undefined;
    }
    if (format === 'neam-ca/quorum-roster') {
      const r = parseRoster(bytes, path);
      ctx.out.result(r, () => rosterSummary(r));
    } else if (format === 'neam-ca/custodian-file') {
      const f = parseCustodianFile(bytes, path);
      const { sealed: _s, signature: _g, ...pub } = f;
      ctx.out.result(pub, () =>
        [
          `Custodian file of '${f.custodian}' (share ${f.shareIndex} of ${f.total}, threshold ${f.threshold})`,
          `  ceremony '${f.ceremony}', quorum ${f.quorumId}, generation ${f.generation}, created ${f.createdAt}`,
          `  approval key SHA-256: ${f.approvalKey.sha256}`,
          `  sealed with scrypt N=${f.kdf.N} r=${f.kdf.r} p=${f.kdf.p} and AES-256-GCM`,
        ].join('\n'),
      );
    } else if (format === 'neam-ca/approval-request') {
      const r = parseApprovalRequest(bytes, path);
      ctx.out.result({ ...r, tbs: r.tbs === undefined ? undefined : `${Buffer.from(r.tbs, 'base64').length} bytes` }, () => `${r.operation} ${r.subject}\nrequest ${r.requestId}, expires ${r.expiresAt}\nTBS SHA-256 ${r.tbsSha256}\n${formatDigestWords(r.tbsSha256)}`);
    } else if (format === 'neam-ca/approval') {
      const a = parseApproval(bytes, path);
      ctx.out.result(a, () => Object.entries(a.statement).map(([k, v]) => `  ${k.padEnd(11)} ${String(v)}`).join('\n'));
    } else {
      throw new CoreError('ERR_INPUT_INVALID', `${path} is not a NEAM CA quorum file (roster, custodian file, approval request or approval)`);
    }
    return Promise.resolve();
  },
};

/** `neam-ca approve` and `neam-ca quorum …`. */
export const QUORUM_COMMANDS: Command[] = [approve, enroll, drill, rotate, request, check, passphrase, words, show];
