/**
 * @module cli/commands/hsm
 * `neam-ca hsm …`: inspect PKCS#11 modules and tokens, and (for rehearsals and tests) initialise a
 * token and generate keys. Key objects are listed with the attributes that prove their protection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import { describeSpec, parseKeySpec, KEY_SPEC_NAMES, type HsmModule, type KeyDescription, type TokenInfo } from '../../hsm/index.ts';
import { Secret } from '../../util/secret.ts';
import type { Command, CommandContext } from '../command.ts';
import { loginFrom, MODULE_OPTIONS, openHsmFrom, PIN_OPTIONS, TOKEN_OPTIONS } from '../hsm-options.ts';
import { table, yn } from '../render.ts';
import { obtainSecret } from '../secret-input.ts';

async function withModule<T>(ctx: CommandContext, fn: (hsm: HsmModule) => Promise<T> | T): Promise<T> {
  const hsm = openHsmFrom(ctx);
  try {
    return await fn(hsm);
  } finally {
    hsm.close();
  }
}

/** Text for the token list. */
export function renderTokens(modulePath: string, tokens: TokenInfo[]): string {
  if (tokens.length === 0) return `No tokens in ${modulePath}.`;
  return `Module: ${modulePath}\n${table(
    ['LABEL', 'SERIAL', 'MODEL', 'INITIALISED', 'USER PIN', 'PIN STATE'],
    tokens.map((t) => [
      t.initialized ? t.label : '(free slot)',
      t.initialized ? t.serial : '-',
      t.model,
      yn(t.initialized),
      yn(t.userPinInitialized),
      t.userPinLocked ? 'LOCKED' : t.userPinFinalTry ? 'final try' : t.userPinCountLow ? 'count low' : 'ok',
    ]),
  )}`;
}

/** Text for the key list, with the protection attributes as pkcs11-tool names them. */
export function renderKeys(token: TokenInfo, keys: KeyDescription[]): string {
  if (keys.length === 0) return `Token '${token.label}' (serial ${token.serial}) holds no keys.`;
  const rows = keys.map((k) => [
    k.label,
    k.class,
    k.algorithm,
    k.id,
    k.protection === undefined ? '-' : yn(k.protection.sensitive),
    k.protection === undefined ? '-' : yn(k.protection.alwaysSensitive),
    k.protection === undefined ? '-' : yn(k.protection.extractable),
    k.protection === undefined ? '-' : yn(k.protection.neverExtractable),
    k.protection === undefined ? '-' : yn(k.protection.local),
    k.protection === undefined ? '-' : [k.protection.sign ? 'sign' : '', k.protection.decrypt ? 'decrypt' : '', k.protection.encrypt ? 'encrypt' : '', k.protection.unwrap ? 'unwrap' : '', k.protection.wrap ? 'wrap' : '', k.protection.derive ? 'derive' : ''].filter(Boolean).join(',') || 'none',
  ]);
  const fps = keys.filter((k) => k.class === 'private' && k.spkiSha256 !== undefined).map((k) => `  ${k.label}: SHA-256(SPKI) ${k.spkiSha256}`);
  return [
    `Token '${token.label}' (serial ${token.serial}):`,
    table(['LABEL', 'CLASS', 'ALGORITHM', 'ID', 'SENSITIVE', 'ALWAYS-SENS', 'EXTRACTABLE', 'NEVER-EXTR', 'LOCAL', 'USAGE'], rows),
    ...(fps.length > 0 ? ['', 'Public key fingerprints:', ...fps] : []),
  ].join('\n');
}

const list: Command = {
  path: ['hsm', 'list'],
  summary: 'list the tokens of a PKCS#11 module',
  usage: '[--module PATH] [--softhsm-dir DIR]',
  options: { ...MODULE_OPTIONS },
  run: (ctx) =>
    withModule(ctx, (hsm) => {
      const tokens = hsm.tokens();
      ctx.out.result({ module: hsm.modulePath, library: hsm.info(), tokens }, () => renderTokens(hsm.modulePath, tokens));
    }),
};

const keys: Command = {
  path: ['hsm', 'keys'],
  summary: 'list the key objects on a token with their protection attributes',
  usage: '--token LABEL [--serial SERIAL] [--pin-file FILE]',
  description: 'Logs in (private keys are only visible after login) and lists every key with CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_LOCAL and the permitted usages.',
  options: { ...MODULE_OPTIONS, ...TOKEN_OPTIONS, ...PIN_OPTIONS },
  run: (ctx) =>
    withModule(ctx, async (hsm) => {
      const session = await loginFrom(ctx, hsm);
      try {
        const described = session.describeKeys();
        ctx.out.result({ token: session.token, keys: described }, () => renderKeys(session.token, described));
      } finally {
        session.close();
      }
    }),
};

/** Writes a new random PIN to `path` (mode 0600, exclusive create). */
function writeNewPinFile(path: string): Secret {
  const pin = Secret.fromBytes(Buffer.from(randomBytes(24).toString('base64url'), 'utf8'));
  pin.use((b) => writeFileSync(path, b, { mode: 0o600, flag: 'wx' }));
  return pin;
}

const initToken: Command = {
  path: ['hsm', 'init-token'],
  summary: 'initialise a free token slot (rehearsals and the online token)',
  usage: '--label LABEL [--root] (--pin-file FILE --so-pin-file FILE | --generate-pins DIR)',
  description:
    "Initialises a token with a new SO PIN and user PIN. With --generate-pins DIR, random PINs are created and written to DIR/LABEL.so-pin and DIR/LABEL.pin (mode 0600, never overwritten): for rehearsal and online tokens only, since whoever reads the SO PIN file can reset the user PIN. A root token's PINs must never be written down: create it with 'neam-ca quorum enroll --init-token' (temporary PINs only in memory, then both PINs derived from the custodians' secret). Mark a root token with --root: --generate-pins is then refused, and the SO PIN you give is only temporary until 'quorum enroll' replaces it.",
  options: {
    ...MODULE_OPTIONS,
    label: { type: 'string', valueName: 'LABEL', description: 'label of the new token (1-32 printable ASCII characters)' },
    root: { type: 'boolean', description: 'this token will hold a root key: refuse --generate-pins (PINs written to files)' },
    ...PIN_OPTIONS,
    'so-pin-file': { type: 'string', valueName: 'FILE', description: 'file holding the new SO PIN (mode 0600); else $NEAM_CA_SO_PIN or a prompt' },
    'generate-pins': { type: 'string', valueName: 'DIR', description: 'generate random PINs into DIR (mode 0600); rehearsal and online tokens only' },
  },
  run: (ctx) =>
    withModule(ctx, async (hsm) => {
      const label = ctx.values['label'];
      if (typeof label !== 'string') throw new CoreError('ERR_USAGE', '--label LABEL is required');
      const gen = ctx.values['generate-pins'];
      const root = ctx.values['root'] === true;
      if (root && typeof gen === 'string') {
        throw new CoreError(
          'ERR_USAGE',
          "--generate-pins writes the PINs to files, and whoever reads the SO PIN file can reset the user PIN and bypass the custodians: it is for rehearsal and online tokens only. Create a root token with 'neam-ca quorum enroll --init-token --token LABEL …' (temporary PINs that never leave memory)",
        );
      }
      if (typeof gen === 'string') {
        ctx.out.status(`WARNING: the PINs of '${label}' are written to files. Use this only for rehearsal and online tokens; a root token is created with 'neam-ca quorum enroll --init-token', whose PINs nobody can read.`);
      } else if (root) {
        ctx.out.status(`Token '${label}' is marked as a root token: run 'neam-ca quorum enroll --token ${label}' next; it replaces this SO PIN and the user PIN with PINs derived from the custodians' secret.`);
      }
      let so: Secret;
      let user: Secret;
      const files: Record<string, string> = {};
      if (typeof gen === 'string') {
        const dir = resolve(ctx.cwd, gen);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        files['soPinFile'] = join(dir, `${label}.so-pin`);
        files['pinFile'] = join(dir, `${label}.pin`);
        so = writeNewPinFile(files['soPinFile']);
        user = writeNewPinFile(files['pinFile']);
      } else {
        so = await obtainSecret(ctx, 'so-pin-file', 'NEAM_CA_SO_PIN', 'new SO PIN');
        user = await obtainSecret(ctx, 'pin-file', 'NEAM_CA_PIN', 'new user PIN');
      }
      try {
        const token = hsm.initToken(label, so, user);
        ctx.out.result({ token, ...files }, () => `Initialised token '${token.label}' (serial ${token.serial}).${files['pinFile'] === undefined ? '' : `\nPINs written to ${files['pinFile']} and ${files['soPinFile']} (mode 0600).`}`);
      } finally {
        so.wipe();
        user.wipe();
      }
    }),
};

const keygen: Command = {
  path: ['hsm', 'keygen'],
  summary: 'generate a key pair inside a token (sensitive, never extractable, sign only)',
  usage: `--token LABEL [--serial SERIAL] --label KEYLABEL --type (${KEY_SPEC_NAMES.join('|')})`,
  options: {
    ...MODULE_OPTIONS,
    ...TOKEN_OPTIONS,
    ...PIN_OPTIONS,
    label: { type: 'string', valueName: 'KEYLABEL', description: 'label of the new key (must not exist)' },
    type: { type: 'string', valueName: 'TYPE', description: `key type: ${KEY_SPEC_NAMES.join(', ')}` },
  },
  run: (ctx) =>
    withModule(ctx, async (hsm) => {
      const label = ctx.values['label'];
      const type = ctx.values['type'];
      if (typeof label !== 'string' || typeof type !== 'string') throw new CoreError('ERR_USAGE', '--label KEYLABEL and --type TYPE are required');
      const spec = parseKeySpec(type);
      const session = await loginFrom(ctx, hsm);
      try {
        const pair = session.generateKeyPair(spec, { label });
        const fingerprint = createHash('sha256').update(pair.spki).digest('hex');
        ctx.out.result({ label, id: pair.privateKey.id, algorithm: describeSpec(spec), spkiSha256: fingerprint, protection: session.protection(pair.privateKey) }, () =>
          `Generated ${describeSpec(spec)} key '${label}' (id ${pair.privateKey.id}) on token '${session.token.label}'.\nSHA-256(SPKI): ${fingerprint}`,
        );
      } finally {
        session.close();
      }
    }),
};

/** `neam-ca hsm …` commands. */
export const HSM_COMMANDS: Command[] = [list, keys, initToken, keygen];
