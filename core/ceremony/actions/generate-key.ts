/**
 * @module ceremony/actions/generate-key
 * Step action `generate-key`: generates a key pair inside the token (sensitive, never extractable,
 * sign only), proves its protection attributes, writes the public key as PEM, and records the key's
 * CKA_ID and the SHA-256 of its SubjectPublicKeyInfo (read aloud and signed off). Used for the root
 * key (RSA-4096) and the offline transfer key (EC P-256).
 *
 * After a crash the token is reconciled by label and public-key hash: one intact, protected key pair
 * with the step's label is adopted (it can only have been made by this step: the label was proven
 * free before the step started); a partial pair is destroyed and the key generated again; a
 * completed step must still find exactly its recorded key.
 *
 * Must never: export, wrap or copy the private key; accept a key the token did not generate
 * itself (CKA_LOCAL) or that was ever extractable.
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { CoreError } from '../../errors.ts';
import { describeSpec, KEY_SPEC_NAMES, parseKeySpec } from '../../hsm/index.ts';
import type { HsmSession, KeyProtection, KeyRef } from '../../hsm/types.ts';
import { groupedHex, keyLabel, outputName, pem, sha256Hex } from './common.ts';
import type { ActionDefinition, CreatedObject, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  label: keyLabel,
  algorithm: z.enum(KEY_SPEC_NAMES as [string, ...string[]]),
  'public-key-file': outputName.optional(),
});
type Params = z.infer<typeof params>;

function publicKeyFile(p: Params): string {
  return p['public-key-file'] ?? `${p.label}.pub.pem`;
}

/** The attributes that prove a key was generated inside the token and never left it. */
function protectionProblems(p: KeyProtection): string[] {
  const bad: string[] = [];
  if (!p.token) bad.push('not a token object');
  if (!p.private) bad.push('not private');
  if (!p.sensitive) bad.push('not sensitive');
  if (p.extractable) bad.push('extractable');
  if (!p.alwaysSensitive) bad.push('not always sensitive');
  if (!p.neverExtractable) bad.push('was extractable at some point');
  if (!p.local) bad.push('not generated on the token (CKA_LOCAL false)');
  if (p.decrypt || p.unwrap || p.derive) bad.push('permits decrypt/unwrap/derive');
  return bad;
}

function outcomeFor(ctx: StepContext<Params>, session: HsmSession, priv: KeyRef, spki: Buffer): StepOutcome {
  const spkiSha256 = sha256Hex(spki);
  const algorithm = describeSpec(parseKeySpec(ctx.params.algorithm));
  const protection = session.protection(priv);
  const object: CreatedObject = { label: priv.label, keyId: priv.id, spkiSha256, algorithm };
  return {
    result: {
      label: priv.label,
      keyId: priv.id,
      algorithm,
      spkiSha256,
      publicKeyFile: publicKeyFile(ctx.params),
      protection: { sensitive: protection.sensitive, alwaysSensitive: protection.alwaysSensitive, extractable: protection.extractable, neverExtractable: protection.neverExtractable, local: protection.local },
    },
    objects: [object],
  };
}

/** SHA-256 of a key's SPKI, or undefined when it cannot be read (e.g. a private key whose public half is gone). */
function spkiSha(session: HsmSession, key: KeyRef): string | undefined {
  try {
    return sha256Hex(session.publicKeySpki(key));
  } catch {
    return undefined;
  }
}

function keysWithLabel(session: HsmSession, label: string): KeyRef[] {
  return session.findKeys({ label });
}

/** `generate-key`. */
export const generateKey: ActionDefinition<Params> = {
  summary: 'generate a key pair inside the token (sensitive, never extractable, sign only); write its public key; record its fingerprint',
  ceremonyTypes: ['root', 'custodian-rotation'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p) => ({ outputs: [publicKeyFile(p)], keyLabels: [p.label], references: [] }),
  questions: () => [],
  async precondition(ctx) {
    const session = await ctx.hsm.login();
    const existing = keysWithLabel(session, ctx.params.label);
    if (existing.length > 0) {
      throw new CoreError('ERR_CEREMONY_KEY_LABEL_EXISTS', `token '${session.token.label}' already holds ${existing.length} object(s) labelled '${ctx.params.label}'; existing keys are never replaced. Use another label in a reviewed script, or remove the old key deliberately first`, {
        details: { label: ctx.params.label },
      });
    }
  },
  async execute(ctx) {
    const session = await ctx.hsm.login();
    const spec = parseKeySpec(ctx.params.algorithm);
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Generating ${describeSpec(spec)} key '${ctx.params.label}' inside token '${session.token.label}'…` });
    const pair = session.generateKeyPair(spec, { label: ctx.params.label });
    const bad = protectionProblems(session.protection(pair.privateKey));
    if (bad.length > 0) {
      session.destroy(pair.privateKey);
      session.destroy(pair.publicKey);
      throw new CoreError('ERR_HSM_KEY_NOT_PROTECTED', `key '${ctx.params.label}' was generated without the required protection (${bad.join(', ')}); it was destroyed. This token is not fit for CA keys`);
    }
    const outcome = outcomeFor(ctx, session, pair.privateKey, pair.spki);
    ctx.files.write(publicKeyFile(ctx.params), pem('PUBLIC KEY', pair.spki));
    const fp = String(outcome.result['spkiSha256']);
    ctx.record('key.generated', { label: ctx.params.label, algorithm: describeSpec(spec), keyId: pair.privateKey.id, spkiSha256: fp, token: { label: session.token.label, serial: session.token.serial } });
    ctx.io.event({
      type: 'display',
      step: ctx.step.id,
      message: `Key '${ctx.params.label}' generated (${describeSpec(spec)}, id ${pair.privateKey.id}). SHA-256 of its public key, to be read aloud:\n    ${groupedHex(fp)}`,
      data: { label: ctx.params.label, spkiSha256: fp },
    });
    return outcome;
  },
  async reconcile(ctx, record) {
    const session = await ctx.hsm.login();
    const label = ctx.params.label;
    const found = keysWithLabel(session, label);
    const privs = found.filter((k) => k.class === 'private');
    const pubs = found.filter((k) => k.class === 'public');
    if (record.status !== 'started') {
      const want = record.result?.['spkiSha256'];
      const ok = privs.length === 1 && pubs.length === 1 && spkiSha(session, privs[0]!) === want && spkiSha(session, pubs[0]!) === want;
      if (!ok) {
        throw new CoreError(
          'ERR_CEREMONY_RECONCILE_FAILED',
          `key '${label}' recorded by this ceremony (SHA-256 ${String(want)}) is not on token '${session.token.label}' as recorded (found ${privs.length} private and ${pubs.length} public object(s) with that label). Stop and investigate: the token may have been swapped or altered`,
          { details: { label } },
        );
      }
      return { kind: 'verified' };
    }
    if (found.length === 0) return { kind: 'redo', note: `no key labelled '${label}' was on the token: it had not been generated` };
    const intact =
      privs.length === 1 &&
      pubs.length === 1 &&
      privs[0]!.id === pubs[0]!.id &&
      spkiSha(session, privs[0]!) !== undefined &&
      spkiSha(session, privs[0]!) === spkiSha(session, pubs[0]!) &&
      protectionProblems(session.protection(privs[0]!)).length === 0;
    if (!intact) {
      for (const k of found) session.destroy(k);
      ctx.record('key.destroyed', { label, reason: 'incomplete key pair left by an interrupted key generation', objects: found.map((k) => ({ class: k.class, keyId: k.id })) });
      return { kind: 'redo', note: `an incomplete key pair labelled '${label}' (${privs.length} private, ${pubs.length} public) was destroyed; the key is generated again` };
    }
    const spki = session.publicKeySpki(pubs[0]!);
    const outcome = outcomeFor(ctx, session, privs[0]!, spki);
    const file = publicKeyFile(ctx.params);
    const expected = pem('PUBLIC KEY', spki);
    if (ctx.files.exists(file)) {
      if (readFileSync(ctx.files.path(file), 'utf8') !== expected) {
        throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${ctx.files.path(file)} does not hold the public key of '${label}' found on the token; move the file away and resume`);
      }
      ctx.files.adopt(file);
    } else {
      ctx.files.write(file, expected);
    }
    const fp = String(outcome.result['spkiSha256']);
    ctx.record('key.generated', { label, algorithm: String(outcome.result['algorithm']), keyId: privs[0]!.id, spkiSha256: fp, token: { label: session.token.label, serial: session.token.serial }, adoptedAfterInterruption: true });
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Key '${label}' was generated before the interruption and is intact (generated on the token, never extractable). SHA-256 of its public key, to be read aloud:\n    ${groupedHex(fp)}`, data: { label, spkiSha256: fp } });
    return { kind: 'adopt', outcome, note: `key '${label}' (SHA-256 ${fp}) generated before the interruption was found intact and adopted` };
  },
};
