/**
 * @module cli/commands/bundle
 * `neam-ca bundle …`: transfer identities (create, show, rotate), peers and pinned roots, and the
 * bundles themselves (create, inspect, verify, import, outbox, resend, retract). State lives in
 * the store file `--db` (default HOME/neam-ca.db). Keys: the transfer key is in a PKCS#11 token
 * (offline: the HSM) or in a passphrase-encrypted key file (online); PINs and passphrases come from
 * files of mode 0600, environment variables or a no-echo prompt, never from arguments.
 *
 * Must never: print or log a PIN, passphrase or key; leave a partial output file or folder.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import {
  BUNDLE_KINDS,
  bundleState,
  createBundle,
  enrollPeer,
  extractBundle,
  fileIdentitySigner,
  formatFingerprint,
  generateFileIdentity,
  generateHsmIdentity,
  hsmIdentitySigner,
  importBundle,
  inspectBundle,
  KindRegistry,
  pinRoot,
  readBundleFile,
  recordIdentity,
  retractLastSent,
  rotateIdentity,
  toPem,
  verifyBundle,
  writeBundleFile,
  type BuiltBundle,
  type BundleKind,
  type BundleState,
  type GeneratedIdentity,
  type PayloadFile,
  type SelfIdentity,
} from '../../bundle/index.ts';
import type { Signer } from '../../crypto/signer.ts';
import { istioManifestsValidator, locateCrds, loadCrds } from '../../istio/index.ts';
import type { HsmModule, HsmSession } from '../../hsm/index.ts';
import { openStore } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { Secret } from '../../util/secret.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';
import { MODULE_OPTIONS, openHsmFrom, PIN_OPTIONS, TOKEN_OPTIONS } from '../hsm-options.ts';
import { table } from '../render.ts';
import { obtainSecret } from '../secret-input.ts';

const DB_OPTION: Record<string, OptionSpec> = {
  db: { type: 'string', valueName: 'FILE', description: 'the store (default HOME/neam-ca.db)' },
};
const PASSPHRASE_OPTION: Record<string, OptionSpec> = {
  'passphrase-file': { type: 'string', valueName: 'FILE', description: 'passphrase of the transfer key file (mode 0600); else $NEAM_CA_TRANSFER_PASSPHRASE or a prompt' },
};
const KEY_OPTIONS: Record<string, OptionSpec> = { ...MODULE_OPTIONS, ...TOKEN_OPTIONS, ...PIN_OPTIONS, ...PASSPHRASE_OPTION };

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function need(ctx: CommandContext, name: string, what: string): string {
  const v = str(ctx, name);
  if (v === undefined) throw new CoreError('ERR_USAGE', `--${name} ${what} is required`);
  return v;
}

async function withState<T>(ctx: CommandContext, fn: (state: BundleState) => Promise<T> | T): Promise<T> {
  const path = resolve(ctx.cwd, str(ctx, 'db') ?? join(ctx.home, 'neam-ca.db'));
  const store = openStore(path);
  try {
    return await fn(bundleState(store));
  } finally {
    store.close();
  }
}

function readInput(ctx: CommandContext, path: string, what: string): Buffer {
  const p = resolve(ctx.cwd, path);
  try {
    const st = lstatSync(p);
    if (!st.isFile()) throw new CoreError('ERR_INPUT_INVALID', `${what} ${p} is not a regular file`);
    if (st.size > 1024 * 1024) throw new CoreError('ERR_INPUT_TOO_LARGE', `${what} ${p} is larger than 1 MiB`);
    return readFileSync(p);
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_IO', `cannot read ${what} ${p}`, { cause: e, details: { path: p } });
  }
}

/** An open signer for our current identity, and how to close what it opened. */
interface OpenSigner {
  signer: Signer;
  /** The logged-in token session, when the key is in a token. */
  session?: HsmSession;
  close(): void;
}

async function openSession(ctx: CommandContext, hsm: HsmModule, key: { tokenLabel: string; tokenSerial: string }): Promise<HsmSession> {
  const label = str(ctx, 'token') ?? key.tokenLabel;
  const serial = str(ctx, 'serial') ?? key.tokenSerial;
  const session = hsm.openSession(serial === '' ? { label } : { label, serial });
  try {
    const pin = await obtainSecret(ctx, 'pin-file', 'NEAM_CA_PIN', `user PIN of token '${label}'`);
    try {
      session.login(pin);
    } finally {
      pin.wipe();
    }
    return session;
  } catch (e) {
    session.close();
    throw e;
  }
}

async function openIdentitySigner(ctx: CommandContext, identity: SelfIdentity): Promise<OpenSigner> {
  if (identity.key.store === 'file') {
    const pass = await obtainSecret(ctx, 'passphrase-file', 'NEAM_CA_TRANSFER_PASSPHRASE', 'transfer key passphrase');
    try {
      return { signer: fileIdentitySigner(identity, pass), close: () => undefined };
    } finally {
      pass.wipe();
    }
  }
  const hsm = openHsmFrom(ctx);
  try {
    const session = await openSession(ctx, hsm, identity.key);
    try {
      return {
        signer: hsmIdentitySigner(identity, session),
        session,
        close: () => {
          session.close();
          hsm.close();
        },
      };
    } catch (e) {
      session.close();
      throw e;
    }
  } catch (e) {
    hsm.close();
    throw e;
  }
}

function currentIdentity(state: BundleState): SelfIdentity {
  const id = state.currentIdentity();
  if (id === undefined) throw new CoreError('ERR_NOT_FOUND', "no transfer identity yet; create one with 'neam-ca bundle identity create'");
  return id;
}

function describeIdentity(id: { name: string; fingerprint: string; certificate: Buffer }): string {
  return [`Transfer identity '${id.name}'`, `  SHA-256 fingerprint (read this aloud at enrollment):`, `  ${formatFingerprint(id.fingerprint)}`].join('\n');
}

/** Generates a new transfer key per the options: in a token (--key-label) or a key file (--key-file). */
async function generateIdentity(
  ctx: CommandContext,
  name: string,
  opts: { keyLabel: string | undefined; keyFile: string | undefined; passphraseOption: string; passphraseEnv: string; session?: HsmSession },
): Promise<{ generated: GeneratedIdentity; close(): void }> {
  const now = new Date();
  if ((opts.keyLabel === undefined) === (opts.keyFile === undefined)) throw new CoreError('ERR_USAGE', 'give either --key-label LABEL (with --token) for a key in a token, or --key-file FILE for an encrypted key file');
  if (opts.keyFile !== undefined) {
    const pass: Secret = await obtainSecret(ctx, opts.passphraseOption, opts.passphraseEnv, 'passphrase for the new transfer key file');
    try {
      const generated = generateFileIdentity({ name, path: resolve(ctx.cwd, opts.keyFile), passphrase: pass, now });
      return { generated, close: () => undefined };
    } finally {
      pass.wipe();
    }
  }
  if (opts.session !== undefined) {
    // Rotation inside the token that holds the current key: the same logged-in session.
    return { generated: generateHsmIdentity(opts.session, { name, keyLabel: opts.keyLabel ?? '', now }), close: () => undefined };
  }
  const token = need(ctx, 'token', 'LABEL');
  const hsm = openHsmFrom(ctx);
  try {
    const session = await openSession(ctx, hsm, { tokenLabel: token, tokenSerial: str(ctx, 'serial') ?? '' });
    try {
      const generated = generateHsmIdentity(session, { name, keyLabel: opts.keyLabel ?? '', now });
      return {
        generated,
        close: () => {
          session.close();
          hsm.close();
        },
      };
    } catch (e) {
      session.close();
      throw e;
    }
  } catch (e) {
    hsm.close();
    throw e;
  }
}

function writeCertOut(ctx: CommandContext, der: Buffer): string | undefined {
  const out = str(ctx, 'cert-out');
  if (out === undefined) return undefined;
  const p = resolve(ctx.cwd, out);
  writeFileExclusive(p, toPem('CERTIFICATE', der), 0o644);
  return p;
}

const CERT_OUT: Record<string, OptionSpec> = { 'cert-out': { type: 'string', valueName: 'FILE', description: 'also write the transfer certificate (PEM) to FILE (never overwritten)' } };

const identityCreate: Command = {
  path: ['bundle', 'identity', 'create'],
  summary: 'create our transfer identity: a P-256 key in a token or an encrypted key file, and its 2-year self-signed certificate',
  usage: '--name NAME (--token LABEL --key-label LABEL [--pin-file FILE] | --key-file FILE [--passphrase-file FILE]) [--cert-out FILE] [--db FILE]',
  description:
    'The offline workstation keeps its transfer key in the HSM (--token, --key-label); the online CA in its token or in a passphrase-encrypted key file (--key-file; scrypt + AES-256-GCM, mode 0600). Give the certificate (--cert-out) to the other side and read the fingerprint aloud when they enroll it.',
  options: {
    ...DB_OPTION,
    name: { type: 'string', valueName: 'NAME', description: "the identity's name in its certificate, e.g. 'NEAM CA transfer: offline'" },
    'key-label': { type: 'string', valueName: 'LABEL', description: 'label of the new key in the token (must not exist)' },
    'key-file': { type: 'string', valueName: 'FILE', description: 'create the key in this encrypted key file (must not exist)' },
    ...KEY_OPTIONS,
    ...CERT_OUT,
  },
  run: (ctx) =>
    withState(ctx, async (state) => {
      const name = need(ctx, 'name', 'NAME');
      if (state.currentIdentity() !== undefined) throw new CoreError('ERR_ALREADY_EXISTS', "a transfer identity already exists; use 'neam-ca bundle identity rotate'");
      const g = await generateIdentity(ctx, name, { keyLabel: str(ctx, 'key-label'), keyFile: str(ctx, 'key-file'), passphraseOption: 'passphrase-file', passphraseEnv: 'NEAM_CA_TRANSFER_PASSPHRASE' });
      try {
        const id = recordIdentity(state, g.generated, new Date());
        const certOut = writeCertOut(ctx, id.certificate);
        ctx.out.result({ name: id.name, fingerprint: id.fingerprint, key: id.key, certificate: toPem('CERTIFICATE', id.certificate), certOut: certOut ?? null }, () =>
          [describeIdentity(id), certOut === undefined ? '' : `Certificate written to ${certOut}.`].filter(Boolean).join('\n'),
        );
      } finally {
        g.close();
      }
    }),
};

const identityShow: Command = {
  path: ['bundle', 'identity', 'show'],
  summary: 'show our transfer identities (current and retired) and their fingerprints',
  usage: '[--cert-out FILE] [--db FILE]',
  options: { ...DB_OPTION, ...CERT_OUT },
  run: (ctx) =>
    withState(ctx, (state) => {
      const ids = state.identities();
      const current = currentIdentity(state);
      const certOut = writeCertOut(ctx, current.certificate);
      ctx.out.result(
        { identities: ids.map((i) => ({ name: i.name, fingerprint: i.fingerprint, status: i.status, createdAt: i.createdAt, retiredAt: i.retiredAt, key: i.key })), certificate: toPem('CERTIFICATE', current.certificate), certOut: certOut ?? null },
        () =>
          [
            describeIdentity(current),
            '',
            table(['NAME', 'STATUS', 'CREATED', 'RETIRED', 'KEY', 'FINGERPRINT'], ids.map((i) => [i.name, i.status, i.createdAt, i.retiredAt ?? '-', i.key.store === 'hsm' ? `token ${i.key.tokenLabel}/${i.key.keyLabel}` : i.key.path, i.fingerprint])),
            certOut === undefined ? '' : `Certificate written to ${certOut}.`,
          ]
            .filter((l, k) => k < 2 || l !== '')
            .join('\n'),
      );
    }),
};

const identityRotate: Command = {
  path: ['bundle', 'identity', 'rotate'],
  summary: 'replace our transfer identity: one rotation bundle per peer, signed by the current key, then switch',
  usage: '--name NAME (--key-label LABEL | --key-file FILE [--new-passphrase-file FILE]) --out-dir DIR [current key options] [--db FILE]',
  description:
    'Creates the new key (with --key-label: in the token of the current key; with --key-file: a new encrypted key file), writes DIR/<peer>-identity-rotation-<sequence>.neambundle for every enrolled peer, signed by the current key, and makes the new identity current. Bundles addressed to the old identity are still accepted for 30 days.',
  options: {
    ...DB_OPTION,
    name: { type: 'string', valueName: 'NAME', description: 'name of the new identity' },
    'key-label': { type: 'string', valueName: 'LABEL', description: 'label of the new key in the token' },
    'key-file': { type: 'string', valueName: 'FILE', description: 'new encrypted key file' },
    'new-passphrase-file': { type: 'string', valueName: 'FILE', description: 'passphrase of the new key file (mode 0600); else $NEAM_CA_NEW_TRANSFER_PASSPHRASE or a prompt' },
    'out-dir': { type: 'string', valueName: 'DIR', description: 'folder for the rotation bundles (must exist)' },
    ...KEY_OPTIONS,
  },
  run: (ctx) =>
    withState(ctx, async (state) => {
      const name = need(ctx, 'name', 'NAME');
      const outDir = resolve(ctx.cwd, need(ctx, 'out-dir', 'DIR'));
      const current = currentIdentity(state);
      const signer = await openIdentitySigner(ctx, current);
      try {
        const keyLabel = str(ctx, 'key-label');
        const g = await generateIdentity(ctx, name, {
          keyLabel,
          keyFile: str(ctx, 'key-file'),
          passphraseOption: 'new-passphrase-file',
          passphraseEnv: 'NEAM_CA_NEW_TRANSFER_PASSPHRASE',
          ...(keyLabel !== undefined && signer.session !== undefined ? { session: signer.session } : {}),
        });
        try {
          const paths: Record<string, string> = {};
          const r = rotateIdentity(state, {
            next: g.generated,
            currentSigner: signer.signer,
            now: new Date(),
            write: (peer, b) => {
              const p = join(outDir, `${peer}-identity-rotation-${b.manifest.sequence}.neambundle`);
              writeBundleFile(p, b.bytes);
              paths[peer] = p;
            },
            unwrite: (peer) => {
              const p = paths[peer];
              if (p !== undefined) unlinkSync(p);
            },
          });
          ctx.out.result({ name: r.identity.name, fingerprint: r.identity.fingerprint, bundles: r.bundles.map((b) => ({ peer: b.peer, path: paths[b.peer], sequence: b.bundle.manifest.sequence })) }, () =>
            [describeIdentity(r.identity), 'Rotation bundles (deliver each to its peer):', ...r.bundles.map((b) => `  ${b.peer}: ${paths[b.peer] ?? '?'}`)].join('\n'),
          );
        } finally {
          g.close();
        }
      } finally {
        signer.close();
      }
    }),
};

const peerAdd: Command = {
  path: ['bundle', 'peer', 'add'],
  summary: "enroll a peer: pin its transfer certificate by the fingerprint read aloud (and optionally its root)",
  usage: '--name NAME --cert FILE --fingerprint HEX [--root-cert FILE --root-fingerprint HEX] [--db FILE]',
  options: {
    ...DB_OPTION,
    name: { type: 'string', valueName: 'NAME', description: 'peer name (lower-case letters, digits, dashes), e.g. offline-root or online-ca' },
    cert: { type: 'string', valueName: 'FILE', description: "the peer's transfer certificate (PEM or DER)" },
    fingerprint: { type: 'string', valueName: 'HEX', description: 'its SHA-256 fingerprint as read aloud (colons and spaces ignored)' },
    'root-cert': { type: 'string', valueName: 'FILE', description: "the peer's root CA certificate, to pin as well" },
    'root-fingerprint': { type: 'string', valueName: 'HEX', description: "the root's SHA-256 fingerprint as read at the root ceremony" },
  },
  run: (ctx) =>
    withState(ctx, (state) => {
      const now = new Date();
      const name = need(ctx, 'name', 'NAME');
      const cert = readInput(ctx, need(ctx, 'cert', 'FILE'), 'the certificate file');
      const fp = need(ctx, 'fingerprint', 'HEX');
      const rootCert = str(ctx, 'root-cert');
      const rootFp = str(ctx, 'root-fingerprint');
      if ((rootCert === undefined) !== (rootFp === undefined)) throw new CoreError('ERR_USAGE', '--root-cert and --root-fingerprint go together');
      const rootDer = rootCert === undefined ? undefined : readInput(ctx, rootCert, 'the root certificate file');
      return state.transaction(() => {
        const pin = enrollPeer(state, { name, certificate: cert, fingerprint: fp, now });
        const root = rootDer === undefined || rootFp === undefined ? undefined : pinRoot(state, { peer: name, certificate: rootDer, fingerprint: rootFp, now });
        ctx.out.result({ peer: name, fingerprint: pin.fingerprint, root: root?.fingerprint ?? null }, () =>
          [`Enrolled '${name}' with transfer certificate ${formatFingerprint(pin.fingerprint)}.`, root === undefined ? '' : `Pinned its root ${formatFingerprint(root.fingerprint)}.`].filter(Boolean).join('\n'),
        );
      });
    }),
};

const peerPinRoot: Command = {
  path: ['bundle', 'peer', 'pin-root'],
  summary: "pin a root CA certificate for a peer (intermediates and CRLs from it must chain to a pinned root)",
  usage: '--peer NAME --cert FILE --fingerprint HEX [--db FILE]',
  options: {
    ...DB_OPTION,
    peer: { type: 'string', valueName: 'NAME', description: 'the enrolled peer' },
    cert: { type: 'string', valueName: 'FILE', description: 'root certificate (PEM or DER)' },
    fingerprint: { type: 'string', valueName: 'HEX', description: 'its SHA-256 fingerprint as read at the root ceremony' },
  },
  run: (ctx) =>
    withState(ctx, (state) => {
      const root = pinRoot(state, { peer: need(ctx, 'peer', 'NAME'), certificate: readInput(ctx, need(ctx, 'cert', 'FILE'), 'the root certificate file'), fingerprint: need(ctx, 'fingerprint', 'HEX'), now: new Date() });
      ctx.out.result({ peer: root.peer, fingerprint: root.fingerprint }, () => `Pinned root ${formatFingerprint(root.fingerprint)} for '${root.peer}'.`);
    }),
};

const peerList: Command = {
  path: ['bundle', 'peer', 'list'],
  summary: 'list peers with their pinned transfer certificates, roots and channel positions',
  usage: '[--db FILE]',
  options: { ...DB_OPTION },
  run: (ctx) =>
    withState(ctx, (state) => {
      const peers = state.peers().map((p) => ({
        name: p,
        pins: state.pins(p).map((x) => ({ fingerprint: x.fingerprint, status: x.status, pinnedAt: x.pinnedAt, pinnedBy: x.pinnedBy, retiredAt: x.retiredAt })),
        roots: state.rootPins(p).map((r) => ({ fingerprint: r.fingerprint, pinnedAt: r.pinnedAt })),
        received: state.channel(p, 'in').lastSequence,
        sent: state.channel(p, 'out').lastSequence,
      }));
      ctx.out.result({ peers }, () =>
        peers.length === 0
          ? 'No peers enrolled.'
          : table(
              ['PEER', 'TRANSFER CERTIFICATE (current)', 'ROOTS', 'RECEIVED', 'SENT'],
              peers.map((p) => [p.name, p.pins.find((x) => x.status === 'current')?.fingerprint ?? '-', String(p.roots.length), String(p.received), String(p.sent)]),
            ),
      );
    }),
};

/** Reads a payload folder: every regular file below it becomes payload/<relative path>. */
function readPayloadDir(dir: string): PayloadFile[] {
  const out: PayloadFile[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ path: `payload/${relative(dir, p).split('\\').join('/')}`, data: readFileSync(p) });
      else throw new CoreError('ERR_INPUT_INVALID', `${p} is not a regular file (symbolic links and devices are never bundled)`, { details: { path: p } });
    }
  };
  try {
    if (!lstatSync(dir).isDirectory()) throw new CoreError('ERR_INPUT_INVALID', `${dir} is not a folder`);
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_NOT_FOUND', `the payload folder ${dir} does not exist`, { cause: e });
  }
  walk(dir);
  return out;
}

const create: Command = {
  path: ['bundle', 'create'],
  summary: 'create and sign a bundle for a peer from a payload folder',
  usage: `--kind (${BUNDLE_KINDS.join('|')}) --to PEER --payload DIR --out FILE [--expires-in DAYS] [key options] [--db FILE]`,
  description:
    'Every file under DIR becomes payload/<path>; DIR/index.json describes the payload for its kind (see docs/bundle-format.md). The bundle takes the next sequence number on the channel to PEER and names the previous manifest. Private key material anywhere in the payload is refused (ERR_BUNDLE_PRIVATE_KEY). The output file is created exclusively.',
  options: {
    ...DB_OPTION,
    kind: { type: 'string', valueName: 'KIND', description: `one of ${BUNDLE_KINDS.join(', ')}` },
    to: { type: 'string', valueName: 'PEER', description: 'the enrolled peer it is for' },
    payload: { type: 'string', valueName: 'DIR', description: 'folder holding index.json and the payload files' },
    out: { type: 'string', valueName: 'FILE', description: 'the .neambundle file to create' },
    'expires-in': { type: 'string', valueName: 'DAYS', description: 'days until it expires (default 14, at most 90)' },
    ...KEY_OPTIONS,
  },
  run: (ctx) =>
    withState(ctx, async (state) => {
      const kind = need(ctx, 'kind', 'KIND');
      if (!(BUNDLE_KINDS as readonly string[]).includes(kind)) throw new CoreError('ERR_USAGE', `unknown kind '${kind}'; use one of ${BUNDLE_KINDS.join(', ')}`);
      const to = need(ctx, 'to', 'PEER');
      const out = resolve(ctx.cwd, need(ctx, 'out', 'FILE'));
      const files = readPayloadDir(resolve(ctx.cwd, need(ctx, 'payload', 'DIR')));
      const days = str(ctx, 'expires-in');
      const lifetime = days === undefined ? undefined : Number(days);
      if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 1)) throw new CoreError('ERR_USAGE', '--expires-in takes a whole number of days');
      const signer = await openIdentitySigner(ctx, currentIdentity(state));
      let built: BuiltBundle;
      try {
        built = createBundle(state, {
          kind: kind as BundleKind,
          to,
          files,
          signer: signer.signer,
          now: new Date(),
          ...(lifetime === undefined ? {} : { lifetimeDays: lifetime }),
          write: (b) => writeBundleFile(out, b.bytes),
          unwrite: () => unlinkSync(out),
        });
      } finally {
        signer.close();
      }
      const m = built.manifest;
      ctx.out.result({ path: out, manifestSha256: built.manifestSha256, manifest: m }, () =>
        [`Created ${out}`, `  ${m.kind} for '${to}', sequence ${m.sequence}, expires ${m.expiresAt}`, `  manifest SHA-256 ${formatFingerprint(built.manifestSha256)}`, `  ${m.files.length} payload file(s)`].join('\n'),
      );
    }),
};

const inspect: Command = {
  path: ['bundle', 'inspect'],
  summary: 'show what a bundle holds, without trusting it',
  usage: 'FILE [--db FILE]',
  positionals: { names: ['FILE'], min: 1, max: 1 },
  options: { ...DB_OPTION },
  run: (ctx) =>
    withState(ctx, (state) => {
      const r = inspectBundle(readBundleFile(resolve(ctx.cwd, ctx.positionals[0] ?? '')), state);
      ctx.out.result(r, () => {
        const m = r.manifest as Record<string, unknown> | undefined;
        return [
          'UNVERIFIED: this is what the bundle claims. Use `neam-ca bundle verify` for a verdict.',
          `Manifest SHA-256: ${r.manifestSha256}`,
          m === undefined ? 'Manifest: not JSON' : `Manifest: kind ${String(m['kind'])}, sequence ${String(m['sequence'])}, created ${String(m['createdAt'])}, expires ${String(m['expiresAt'])}`,
          r.manifestProblem === undefined ? '' : `Manifest problem: ${r.manifestProblem}`,
          r.signer === undefined ? `Signature: ${r.signatureProblem ?? 'unreadable'}` : `Signer: ${r.signer.subject}, SHA-256 ${r.signer.fingerprint} (${r.pinned === null ? 'NOT pinned here' : r.pinned === undefined ? '?' : `pinned for '${r.pinned.peer}', ${r.pinned.status}`}); signature ${r.signatureMatchesEmbeddedCertificate ? 'matches that certificate' : `does NOT match: ${r.signatureProblem ?? ''}`}`,
          '',
          table(['ENTRY', 'SIZE'], r.entries.map((e) => [e.name, String(e.size)])),
        ]
          .filter((l, i) => l !== '' || i === 5)
          .join('\n');
      });
    }),
};

const CRDS_OPTION: Record<string, OptionSpec> = {
  crds: { type: 'string', valueName: 'DIR', description: "Istio's CRD schemas for checking istio-manifests bundles (default $NEAM_CA_ISTIO_CRDS, then shared/istio-crds in this or a parent folder)" },
};

/**
 * The bundle kinds with the Istio domain's incoming check on `istio-manifests` (Istio's semantic
 * rules always; CRD schemas when found). `crds` says which applied, for the operator.
 * @throws {CoreError} ERR_ISTIO_CRDS_NOT_FOUND when `--crds` names a folder without them
 */
function kindsFor(ctx: CommandContext): { kinds: KindRegistry; crds: string } {
  const explicit = str(ctx, 'crds');
  const found = explicit !== undefined || locateCrds(ctx.cwd, ctx.env).found;
  const crds = found ? loadCrds(ctx.cwd, ctx.env, explicit) : undefined;
  return {
    kinds: KindRegistry.withDefaults().addValidator('istio-manifests', istioManifestsValidator(crds?.set)),
    crds: crds === undefined ? "not found (istio-manifests payloads checked with Istio's rules only; --crds DIR adds the schemas)" : crds.file,
  };
}

const verify: Command = {
  path: ['bundle', 'verify'],
  summary: 'run every check an import runs, without importing (exit 0 only when it would import)',
  usage: 'FILE [--crds DIR] [--db FILE]',
  positionals: { names: ['FILE'], min: 1, max: 1 },
  options: { ...DB_OPTION, ...CRDS_OPTION },
  run: (ctx) =>
    withState(ctx, (state) => {
      const { kinds } = kindsFor(ctx);
      const v = verifyBundle(readBundleFile(resolve(ctx.cwd, ctx.positionals[0] ?? '')), state, { now: new Date(), kinds });
      const m = v.manifest;
      ctx.out.result({ ok: true, alreadyImported: v.alreadyImported, peer: v.peer, manifestSha256: v.manifestSha256, manifest: m }, () =>
        [
          `OK: ${m.kind} bundle ${m.sequence} from '${v.peer}' (signed ${v.signingTime.toISOString()} by ${formatFingerprint(v.signerFingerprint)})`,
          '  limits, archive, signature (pinned sender), manifest, recipient, expiry, sequence and chain, file hashes, kind checks: passed',
          v.alreadyImported ? `  already imported on ${v.importedAt ?? '?'}: importing it again changes nothing` : '  not imported yet',
        ].join('\n'),
      );
    }),
};

const importCmd: Command = {
  path: ['bundle', 'import'],
  summary: 'verify and import a bundle atomically (importing it again changes nothing)',
  usage: 'FILE [--extract DIR] [--require-new] [--crds DIR] [--db FILE]',
  positionals: { names: ['FILE'], min: 1, max: 1 },
  options: {
    ...DB_OPTION,
    ...CRDS_OPTION,
    extract: { type: 'string', valueName: 'DIR', description: 'after the import, also write manifest, signature and payload into the new folder DIR' },
    'require-new': { type: 'boolean', description: 'fail (ERR_BUNDLE_ALREADY_IMPORTED) instead of reporting an earlier import' },
  },
  run: (ctx) =>
    withState(ctx, (state) => {
      const bytes = readBundleFile(resolve(ctx.cwd, ctx.positionals[0] ?? ''));
      const target = str(ctx, 'extract');
      if (target !== undefined && existsSync(resolve(ctx.cwd, target))) throw new CoreError('ERR_ALREADY_EXISTS', `${resolve(ctx.cwd, target)} already exists; --extract writes a new folder only`);
      const { kinds, crds } = kindsFor(ctx);
      const r = importBundle(state, bytes, { now: new Date(), requireNew: ctx.values['require-new'] === true, kinds });
      const extract = str(ctx, 'extract');
      let extracted: string | undefined;
      if (extract !== undefined) {
        extracted = resolve(ctx.cwd, extract);
        const files = state.receivedFiles(r.manifestSha256);
        const rec = state.received(r.manifestSha256);
        if (rec === undefined) throw new CoreError('ERR_INTERNAL', 'imported bundle not found');
        extractBundle({ manifestBytes: rec.manifest, signature: rec.signature, payload: new Map(files.map((f) => [f.path, f.data])) }, extracted);
      }
      const m = r.manifest;
      ctx.out.result({ alreadyImported: r.alreadyImported, importedAt: r.importedAt, peer: r.peer, manifestSha256: r.manifestSha256, manifest: m, extracted: extracted ?? null }, () =>
        [
          r.alreadyImported ? `Already imported on ${r.importedAt}: nothing changed (${m.kind} bundle ${m.sequence} from '${r.peer}').` : `Imported ${m.kind} bundle ${m.sequence} from '${r.peer}' (${m.files.length} payload file(s)).`,
          extracted === undefined ? '' : `Extracted into ${extracted}.`,
          m.kind === 'istio-manifests' ? `Istio manifests checked; CRD schemas: ${crds}.` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    }),
};

const outbox: Command = {
  path: ['bundle', 'outbox'],
  summary: 'list the bundles we created (kept, so a lost one can be written again)',
  usage: '[--to PEER] [--db FILE]',
  options: { ...DB_OPTION, to: { type: 'string', valueName: 'PEER', description: 'only bundles to this peer' } },
  run: (ctx) =>
    withState(ctx, (state) => {
      const sent = state.sentBundles(str(ctx, 'to'));
      ctx.out.result({ bundles: sent.map(({ bundle: _b, ...rest }) => rest) }, () =>
        sent.length === 0 ? 'No bundles sent.' : table(['PEER', 'SEQ', 'KIND', 'CREATED', 'EXPIRES', 'STATE', 'MANIFEST SHA-256'], sent.map((b) => [b.peer, String(b.sequence), b.kind, b.createdAt, b.expiresAt, b.retractedAt === null ? 'sent' : `retracted ${b.retractedAt}`, b.manifestSha256])),
      );
    }),
};

const resend: Command = {
  path: ['bundle', 'resend'],
  summary: 'write a bundle we created again (same bytes), e.g. when the medium was lost',
  usage: '--to PEER --sequence N --out FILE [--db FILE]',
  options: {
    ...DB_OPTION,
    to: { type: 'string', valueName: 'PEER', description: 'the peer' },
    sequence: { type: 'string', valueName: 'N', description: 'its sequence number' },
    out: { type: 'string', valueName: 'FILE', description: 'file to create' },
  },
  run: (ctx) =>
    withState(ctx, (state) => {
      const seq = Number(need(ctx, 'sequence', 'N'));
      const b = state.sentAt(need(ctx, 'to', 'PEER'), seq);
      if (b === undefined) throw new CoreError('ERR_NOT_FOUND', `no bundle ${seq} was sent to '${str(ctx, 'to') ?? ''}' (or it was retracted)`);
      const out = resolve(ctx.cwd, need(ctx, 'out', 'FILE'));
      writeBundleFile(out, b.bundle);
      ctx.out.result({ path: out, manifestSha256: b.manifestSha256, sequence: b.sequence }, () => `Wrote bundle ${b.sequence} (${b.kind}) for '${b.peer}' to ${out}.`);
    }),
};

const retract: Command = {
  path: ['bundle', 'retract'],
  summary: 'withdraw the last bundle sent to a peer after the peer refused it, so its sequence number can be reused',
  usage: '--to PEER --yes [--db FILE]',
  description: 'Only the last bundle can be retracted. Do this only when the peer did not import it; if it did, the replacement will be refused there as a replay.',
  options: { ...DB_OPTION, to: { type: 'string', valueName: 'PEER', description: 'the peer' }, yes: { type: 'boolean', description: 'confirm that the peer refused (did not import) the bundle' } },
  run: (ctx) =>
    withState(ctx, (state) => {
      if (ctx.values['yes'] !== true) throw new CoreError('ERR_USAGE', 'retracting needs --yes, confirming that the peer refused the bundle');
      const r = retractLastSent(state, need(ctx, 'to', 'PEER'), new Date());
      ctx.out.result({ peer: r.peer, sequence: r.sequence, manifestSha256: r.manifestSha256 }, () => `Retracted bundle ${r.sequence} (${r.kind}) to '${r.peer}'; the next bundle takes sequence ${r.sequence}.`);
    }),
};

/** `neam-ca bundle …` commands. */
export const BUNDLE_COMMANDS: Command[] = [identityCreate, identityShow, identityRotate, peerAdd, peerPinRoot, peerList, create, inspect, verify, importCmd, outbox, resend, retract];
