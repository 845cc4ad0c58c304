/**
 * @module hsm/pkcs11
 * The PKCS#11 adapter behind the {@link HsmModule} port: the only file that imports `pkcs11js`.
 * It loads a module by path, finds tokens by label and serial (never by slot number: SoftHSM
 * renumbers slots), generates keys from fail-closed templates, signs, and maps every CKR to a
 * {@link CoreError}.
 *
 * PKCS#11 library state is process-wide (one `C_Initialize` per library per process), so opened
 * modules are reference-counted by real path here; that registry is the only module-level state.
 *
 * Must never: log or put a PIN in an error, create an extractable or non-sensitive private key, or
 * identify a token by its slot number.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

import { CoreError } from '../errors.ts';
import type { Secret } from '../util/secret.ts';
import { ckrOf, CKR, mapPkcs11Error } from './ckr.ts';
import { curveOfParams, EC_PARAMS, ecdsaRawToDer, ecSpki, rsaSpki, unwrapEcPoint } from './der.ts';
import type {
  GenerateKeyOptions,
  HsmModule,
  HsmSession,
  HsmStats,
  KeyClass,
  KeyDescription,
  KeyPairRef,
  KeyProtection,
  KeyRef,
  KeySpec,
  OpenHsmOptions,
  SignAlgorithm,
  TokenInfo,
  TokenSelector,
} from './types.ts';

import type * as Pkcs11Module_ from 'pkcs11js';

type Pkcs11Binding = typeof Pkcs11Module_;
type PKCS11 = InstanceType<Pkcs11Binding['PKCS11']>;
type Attribute = { type: number; value?: number | boolean | string | Buffer };

const require = createRequire(import.meta.url);
let binding: Pkcs11Binding | undefined;
function lib(): Pkcs11Binding {
  // Loaded lazily: importing core must not load a native addon (no I/O at import time).
  binding ??= require('pkcs11js') as Pkcs11Binding;
  return binding;
}

/** PKCS#11 limits: labels are 32 bytes (CK_TOKEN_INFO.label). */
const MAX_TOKEN_LABEL = 32;

interface OpenLibrary {
  pkcs11: PKCS11;
  refs: number;
  conf: string | undefined;
  stats: HsmStats;
}
const openLibraries = new Map<string, OpenLibrary>();

/**
 * Opens (or re-uses) a PKCS#11 module.
 * @throws {CoreError} ERR_HSM_MODULE_NOT_FOUND, ERR_HSM_MODULE_INVALID, ERR_HSM_MODULE_INIT_FAILED
 */
export function openPkcs11Module(options: OpenHsmOptions): HsmModule {
  const { modulePath } = options;
  let real: string;
  try {
    real = realpathSync(modulePath);
    if (!statSync(real).isFile()) throw new Error('not a file');
    accessSync(real, fsConstants.R_OK);
  } catch (e) {
    throw new CoreError(
      'ERR_HSM_MODULE_NOT_FOUND',
      `PKCS#11 module not found at ${modulePath}. Install the HSM vendor's library (for SoftHSM: apt-get install softhsm2) or pass the right --module path`,
      { cause: e, details: { modulePath } },
    );
  }
  let entry = openLibraries.get(real);
  if (entry !== undefined) {
    if (entry.conf !== options.softhsmConf) {
      throw new CoreError(
        'ERR_HSM_MODULE_INIT_FAILED',
        `the PKCS#11 module ${modulePath} is already open in this process with another SoftHSM configuration; close it first`,
        { details: { modulePath } },
      );
    }
    entry.refs++;
  } else {
    entry = initialise(real, modulePath, options.softhsmConf);
    openLibraries.set(real, entry);
  }
  return new Pkcs11Module(modulePath, real, entry);
}

function initialise(real: string, shownPath: string, conf: string | undefined): OpenLibrary {
  const { PKCS11 } = lib();
  const pkcs11 = new PKCS11();
  try {
    pkcs11.load(real);
  } catch (e) {
    throw new CoreError(
      'ERR_HSM_MODULE_INVALID',
      `${shownPath} could not be loaded as a PKCS#11 library (not a shared library, wrong architecture, or no C_GetFunctionList). Check the --module path`,
      { cause: e, details: { modulePath: shownPath } },
    );
  }
  const previousConf = process.env['SOFTHSM2_CONF'];
  if (conf !== undefined) process.env['SOFTHSM2_CONF'] = conf;
  try {
    pkcs11.C_Initialize();
  } catch (e) {
    if (ckrOf(e) !== CKR.CRYPTOKI_ALREADY_INITIALIZED) {
      try {
        pkcs11.close();
      } catch {
        // already failing; the initialisation error is the one to report
      }
      throw new CoreError(
        'ERR_HSM_MODULE_INIT_FAILED',
        `the PKCS#11 module ${shownPath} failed to initialise${conf === undefined ? '' : ` with SOFTHSM2_CONF=${conf}`}. For SoftHSM, check that the configuration file exists and its tokendir is writable`,
        { cause: e, details: { modulePath: shownPath } },
      );
    }
  } finally {
    if (conf !== undefined) {
      if (previousConf === undefined) delete process.env['SOFTHSM2_CONF'];
      else process.env['SOFTHSM2_CONF'] = previousConf;
    }
  }
  return { pkcs11, refs: 1, conf, stats: { signatures: 0, keyPairsGenerated: 0, logins: 0 } };
}

function trimPadded(s: string): string {
  return s.replace(/[\s\0]+$/u, '');
}

/**
 * A CK_BBOOL attribute. An attribute the token does not report (absent or unreadable) is read as
 * `unknownAs`, which callers choose so that "unknown" always counts against the key: unknown
 * "sensitive" is false, unknown "extractable" is true.
 */
function boolAttr(v: Buffer | undefined, unknownAs: boolean): boolean {
  if (v === undefined || v.length === 0) return unknownAs;
  return v[0] !== 0;
}

class Pkcs11Module implements HsmModule {
  readonly modulePath: string;
  readonly #real: string;
  readonly #entry: OpenLibrary;
  readonly #sessions = new Set<Pkcs11Session>();
  #closed = false;

  constructor(modulePath: string, real: string, entry: OpenLibrary) {
    this.modulePath = modulePath;
    this.#real = real;
    this.#entry = entry;
  }

  get stats(): Readonly<HsmStats> {
    return this.#entry.stats;
  }

  #p(): PKCS11 {
    if (this.#closed) throw new CoreError('ERR_HSM_SESSION_CLOSED', 'the PKCS#11 module was closed; open it again');
    return this.#entry.pkcs11;
  }

  info(): { manufacturer: string; description: string; cryptokiVersion: string; libraryVersion: string } {
    try {
      const i = this.#p().C_GetInfo();
      return {
        manufacturer: trimPadded(i.manufacturerID),
        description: trimPadded(i.libraryDescription),
        cryptokiVersion: `${i.cryptokiVersion.major}.${i.cryptokiVersion.minor}`,
        libraryVersion: `${i.libraryVersion.major}.${i.libraryVersion.minor}`,
      };
    } catch (e) {
      throw mapPkcs11Error(e, 'reading the module information');
    }
  }

  /** Slots with a token, paired with their token info. */
  #slots(): Array<{ slot: Buffer; token: TokenInfo }> {
    const p = this.#p();
    const { CKF_TOKEN_INITIALIZED, CKF_USER_PIN_INITIALIZED, CKF_LOGIN_REQUIRED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKF_SO_PIN_LOCKED, CKF_RNG } = lib();
    try {
      return p.C_GetSlotList(true).map((slot) => {
        const t = p.C_GetTokenInfo(slot);
        const s = p.C_GetSlotInfo(slot);
        const f = t.flags;
        return {
          slot,
          token: {
            label: trimPadded(t.label),
            serial: trimPadded(t.serialNumber),
            manufacturer: trimPadded(t.manufacturerID),
            model: trimPadded(t.model),
            initialized: (f & CKF_TOKEN_INITIALIZED) !== 0,
            userPinInitialized: (f & CKF_USER_PIN_INITIALIZED) !== 0,
            loginRequired: (f & CKF_LOGIN_REQUIRED) !== 0,
            userPinCountLow: (f & CKF_USER_PIN_COUNT_LOW) !== 0,
            userPinFinalTry: (f & CKF_USER_PIN_FINAL_TRY) !== 0,
            userPinLocked: (f & CKF_USER_PIN_LOCKED) !== 0,
            soPinLocked: (f & CKF_SO_PIN_LOCKED) !== 0,
            hasRng: (f & CKF_RNG) !== 0,
            slotDescription: trimPadded(s.slotDescription),
          },
        };
      });
    } catch (e) {
      throw mapPkcs11Error(e, 'listing the module\'s slots and tokens');
    }
  }

  tokens(): TokenInfo[] {
    return this.#slots().map((s) => s.token);
  }

  #findSlot(selector: TokenSelector): { slot: Buffer; token: TokenInfo } {
    const all = this.#slots().filter((s) => s.token.initialized);
    const matches = all.filter((s) => s.token.label === selector.label && (selector.serial === undefined || s.token.serial === selector.serial));
    const want = `token '${selector.label}'${selector.serial === undefined ? '' : ` with serial ${selector.serial}`}`;
    if (matches.length === 0) {
      const present = all.map((s) => `'${s.token.label}' (serial ${s.token.serial})`).join(', ');
      throw new CoreError(
        'ERR_HSM_TOKEN_NOT_PRESENT',
        `${want} is not present in ${this.modulePath}. Tokens present: ${present === '' ? 'none' : present}. Insert the token or fix the label/serial`,
        { details: { label: selector.label, serial: selector.serial ?? null } },
      );
    }
    if (matches.length > 1) {
      throw new CoreError(
        'ERR_HSM_TOKEN_AMBIGUOUS',
        `${matches.length} tokens are labelled '${selector.label}'; give the token serial as well (${matches.map((m) => m.token.serial).join(', ')})`,
        { details: { label: selector.label } },
      );
    }
    return matches[0]!;
  }

  findToken(selector: TokenSelector): TokenInfo {
    return this.#findSlot(selector).token;
  }

  initToken(label: string, soPin: Secret, userPin: Secret): TokenInfo {
    validateLabel(label);
    const p = this.#p();
    const slots = this.#slots();
    const existing = slots.filter((s) => s.token.initialized && s.token.label === label);
    if (existing.length > 0 && !(existing.length === 1 && !existing[0]!.token.userPinInitialized)) {
      throw new CoreError('ERR_HSM_TOKEN_EXISTS', `a token labelled '${label}' already exists; choose another label or remove that token first`, {
        details: { label },
      });
    }
    let token: TokenInfo;
    if (existing.length === 1) {
      // An earlier initialisation stopped after C_InitToken and before the user PIN was set: finish
      // it, which needs the same SO PIN (whoever knows it could set the user PIN anyway).
      token = existing[0]!.token;
      this.#checkPinLengths(existing[0]!.slot, label, userPin);
    } else {
      const free = slots.find((s) => !s.token.initialized);
      if (free === undefined) {
        throw new CoreError('ERR_HSM_TOKEN_NOT_PRESENT', `no uninitialised token is available in ${this.modulePath} to initialise as '${label}'`);
      }
      // Check both PINs against the token's limits before anything irreversible happens.
      this.#checkPinLengths(free.slot, label, soPin, userPin);
      try {
        p.C_InitToken(free.slot, soPin.unsafeText(), label);
      } catch (e) {
        throw mapPkcs11Error(e, `initialising token '${label}'`);
      }
      // The module may move the token to another slot (SoftHSM does): find it again by label.
      const initialised = this.#slots().filter((s) => s.token.initialized && s.token.label === label);
      if (initialised.length !== 1) throw new CoreError('ERR_HSM_FAILED', `token '${label}' was initialised but could not be found again`);
      token = initialised[0]!.token;
    }
    const session = this.openSession({ label, serial: token.serial });
    try {
      session.login(soPin, 'so');
      session.initUserPin(userPin);
      session.logout();
    } catch (e) {
      if (e instanceof CoreError && e.code !== 'ERR_HSM_PIN_INCORRECT') {
        throw new CoreError(e.code, `${e.message}. Token '${label}' is initialised but has no user PIN yet; run the same initialisation again with the same SO PIN to finish it`, {
          cause: e,
          details: { ...e.details, label, serial: token.serial, userPinInitialized: false },
        });
      }
      throw e;
    } finally {
      session.close();
    }
    return this.findToken({ label, serial: token.serial });
  }

  #checkPinLengths(slot: Buffer, label: string, ...pins: Secret[]): void {
    let info;
    try {
      info = this.#p().C_GetTokenInfo(slot);
    } catch {
      return; // the token will judge the PINs itself
    }
    const min = info.minPinLen;
    const max = info.maxPinLen;
    for (const pin of pins) {
      if (pin.length < min || pin.length > max) {
        throw new CoreError('ERR_HSM_PIN_INVALID', `a PIN for token '${label}' is ${pin.length < min ? 'shorter' : 'longer'} than the token accepts (${min} to ${max} bytes); nothing was changed on the token`, {
          details: { label, minPinLen: min, maxPinLen: max },
        });
      }
    }
  }

  openSession(selector: TokenSelector, options: { readWrite?: boolean } = {}): HsmSession {
    const { slot, token } = this.#findSlot(selector);
    const { CKF_SERIAL_SESSION, CKF_RW_SESSION } = lib();
    let handle: Buffer;
    try {
      handle = this.#p().C_OpenSession(slot, CKF_SERIAL_SESSION | ((options.readWrite ?? true) ? CKF_RW_SESSION : 0));
    } catch (e) {
      throw mapPkcs11Error(e, `opening a session on token '${token.label}'`);
    }
    const session = new Pkcs11Session(this.#p(), handle, token, this.#entry.stats, (s) => this.#sessions.delete(s));
    this.#sessions.add(session);
    return session;
  }

  close(): void {
    if (this.#closed) return;
    for (const s of [...this.#sessions]) s.close();
    this.#closed = true;
    this.#entry.refs--;
    if (this.#entry.refs === 0) {
      openLibraries.delete(this.#real);
      try {
        this.#entry.pkcs11.C_Finalize();
      } catch {
        // finalising an already-broken module: nothing more to release
      }
      try {
        this.#entry.pkcs11.close();
      } catch {
        // as above
      }
    }
  }
}

function validateLabel(label: string): void {
  if (label.length === 0 || Buffer.byteLength(label, 'utf8') > MAX_TOKEN_LABEL || !/^[\x20-\x7e]+$/u.test(label) || label !== label.trim()) {
    throw new CoreError(
      'ERR_INPUT_INVALID',
      `token label '${label}' is invalid: use 1 to ${MAX_TOKEN_LABEL} printable ASCII characters without leading or trailing spaces`,
    );
  }
}

function validateKeyLabel(label: string): void {
  if (label.length === 0 || label.length > 128 || !/^[\x21-\x7e][\x20-\x7e]*$/u.test(label)) {
    throw new CoreError('ERR_INPUT_INVALID', `key label '${label}' is invalid: use 1 to 128 printable ASCII characters`);
  }
}

const SIGN_ALGS: Record<SignAlgorithm, { keyType: 'RSA' | 'EC'; hash?: string; mech: () => number }> = {
  'RSA-PKCS1-SHA256': { keyType: 'RSA', mech: () => lib().CKM_SHA256_RSA_PKCS },
  'RSA-PKCS1-SHA384': { keyType: 'RSA', mech: () => lib().CKM_SHA384_RSA_PKCS },
  'RSA-PKCS1-SHA512': { keyType: 'RSA', mech: () => lib().CKM_SHA512_RSA_PKCS },
  // Hash in software and use raw CKM_ECDSA: every token supports it (PKCS#11 v2.40 §2.3.6).
  'ECDSA-SHA256': { keyType: 'EC', hash: 'sha256', mech: () => lib().CKM_ECDSA },
  'ECDSA-SHA384': { keyType: 'EC', hash: 'sha384', mech: () => lib().CKM_ECDSA },
};

class Pkcs11Session implements HsmSession {
  readonly token: TokenInfo;
  readonly #p: PKCS11;
  readonly #stats: HsmStats;
  readonly #onClose: (s: Pkcs11Session) => void;
  #handle: Buffer | null;
  #loggedIn = false;

  constructor(p: PKCS11, handle: Buffer, token: TokenInfo, stats: HsmStats, onClose: (s: Pkcs11Session) => void) {
    this.#p = p;
    this.#handle = handle;
    this.token = token;
    this.#stats = stats;
    this.#onClose = onClose;
  }

  get loggedIn(): boolean {
    return this.#loggedIn;
  }

  #h(): Buffer {
    if (this.#handle === null) throw new CoreError('ERR_HSM_SESSION_CLOSED', `the session on token '${this.token.label}' was closed; open a new one`);
    return this.#handle;
  }

  #ctx(what: string): string {
    return `${what} on token '${this.token.label}'`;
  }

  login(pin: Secret, userType: 'user' | 'so' = 'user'): void {
    const { CKU_USER, CKU_SO } = lib();
    try {
      this.#p.C_Login(this.#h(), userType === 'so' ? CKU_SO : CKU_USER, pin.unsafeText());
      this.#loggedIn = true;
      this.#stats.logins++;
    } catch (e) {
      const err = mapPkcs11Error(e, this.#ctx(`logging in as ${userType === 'so' ? 'security officer' : 'user'}`));
      if (err.code === 'ERR_HSM_PIN_INCORRECT') {
        const t = this.#refreshToken();
        const hint = t === undefined ? '' : t.userPinLocked ? ' The token now reports the PIN as locked.' : t.userPinFinalTry ? ' The token reports that the next wrong PIN will lock it.' : t.userPinCountLow ? ' The token reports that few attempts are left.' : '';
        throw new CoreError(err.code, `${err.message}.${hint}`, {
          cause: e,
          details: { ...err.details, pinFinalTry: t?.userPinFinalTry ?? null, pinCountLow: t?.userPinCountLow ?? null },
        });
      }
      throw err;
    }
  }

  #refreshToken(): TokenInfo | undefined {
    try {
      const info = this.#p.C_GetSessionInfo(this.#h());
      const t = this.#p.C_GetTokenInfo(info.slotID);
      const { CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED } = lib();
      return {
        ...this.token,
        userPinCountLow: (t.flags & CKF_USER_PIN_COUNT_LOW) !== 0,
        userPinFinalTry: (t.flags & CKF_USER_PIN_FINAL_TRY) !== 0,
        userPinLocked: (t.flags & CKF_USER_PIN_LOCKED) !== 0,
      };
    } catch {
      return undefined;
    }
  }

  logout(): void {
    if (!this.#loggedIn) return;
    try {
      this.#p.C_Logout(this.#h());
    } catch (e) {
      if (ckrOf(e) !== CKR.USER_NOT_LOGGED_IN) throw mapPkcs11Error(e, this.#ctx('logging out'));
    } finally {
      this.#loggedIn = false;
    }
  }

  initUserPin(pin: Secret): void {
    try {
      this.#p.C_InitPIN(this.#h(), pin.unsafeText());
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx('setting the user PIN'));
    }
  }

  setPin(oldPin: Secret, newPin: Secret): void {
    try {
      this.#p.C_SetPIN(this.#h(), oldPin.unsafeText(), newPin.unsafeText());
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx('changing the PIN'));
    }
  }

  #ensureLabelFree(label: string): void {
    validateKeyLabel(label);
    if (this.findKeys({ label }).length > 0) {
      throw new CoreError(
        'ERR_HSM_OBJECT_EXISTS',
        `a key labelled '${label}' already exists on token '${this.token.label}'; choose another label (existing keys are never overwritten)`,
        { details: { label, token: this.token.label } },
      );
    }
  }

  generateKeyPair(spec: KeySpec, options: GenerateKeyOptions): KeyPairRef {
    const L = lib();
    this.#ensureLabelFree(options.label);
    const id = options.id ?? randomBytes(16);
    const common = [
      { type: L.CKA_TOKEN, value: true },
      { type: L.CKA_LABEL, value: options.label },
      { type: L.CKA_ID, value: id },
    ];
    // Fail-closed templates: the private key is a token object, private, sensitive, never
    // extractable, and may only sign (no decrypt/unwrap/derive); the public key may only verify.
    const pub: Attribute[] = [...common, { type: L.CKA_CLASS, value: L.CKO_PUBLIC_KEY }, { type: L.CKA_PRIVATE, value: false }, { type: L.CKA_VERIFY, value: true }, { type: L.CKA_ENCRYPT, value: false }, { type: L.CKA_WRAP, value: false }];
    const priv: Attribute[] = [
      ...common,
      { type: L.CKA_CLASS, value: L.CKO_PRIVATE_KEY },
      { type: L.CKA_PRIVATE, value: true },
      { type: L.CKA_SENSITIVE, value: true },
      { type: L.CKA_EXTRACTABLE, value: false },
      { type: L.CKA_SIGN, value: true },
      { type: L.CKA_DECRYPT, value: false },
      { type: L.CKA_UNWRAP, value: false },
      { type: L.CKA_DERIVE, value: false },
    ];
    let mechanism: number;
    if (spec.type === 'RSA') {
      if (![2048, 3072, 4096].includes(spec.bits)) throw new CoreError('ERR_HSM_KEY_TYPE_UNSUPPORTED', `RSA-${spec.bits} is not supported; use 2048, 3072 or 4096 bits`);
      mechanism = L.CKM_RSA_PKCS_KEY_PAIR_GEN;
      pub.push({ type: L.CKA_KEY_TYPE, value: L.CKK_RSA }, { type: L.CKA_MODULUS_BITS, value: spec.bits }, { type: L.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
      priv.push({ type: L.CKA_KEY_TYPE, value: L.CKK_RSA });
    } else {
      const params = EC_PARAMS[spec.curve];
      if (params === undefined) throw new CoreError('ERR_HSM_KEY_TYPE_UNSUPPORTED', `curve ${String(spec.curve)} is not supported; use P-256 or P-384`);
      mechanism = L.CKM_EC_KEY_PAIR_GEN;
      pub.push({ type: L.CKA_KEY_TYPE, value: L.CKK_EC }, { type: L.CKA_EC_PARAMS, value: params });
      priv.push({ type: L.CKA_KEY_TYPE, value: L.CKK_EC });
    }
    let pair: { publicKey: Buffer; privateKey: Buffer };
    try {
      pair = this.#p.C_GenerateKeyPair(this.#h(), { mechanism }, pub, priv);
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx(`generating ${describeSpec(spec)} key '${options.label}'`));
    }
    this.#stats.keyPairsGenerated++;
    const keyType = spec.type;
    const idHex = id.toString('hex');
    const publicKey: KeyRef = { class: 'public', keyType, label: options.label, id: idHex, handle: pair.publicKey };
    const privateKey: KeyRef = { class: 'private', keyType, label: options.label, id: idHex, handle: pair.privateKey };
    const weak = protectionProblems(this.protection(privateKey));
    if (weak.length > 0) {
      // A token that ignores the template is not fit for a CA key: remove the key and refuse.
      let destroyed = true;
      for (const h of [pair.privateKey, pair.publicKey]) {
        try {
          this.#p.C_DestroyObject(this.#h(), h);
        } catch {
          destroyed = false;
        }
      }
      throw new CoreError(
        'ERR_HSM_KEY_NOT_PROTECTED',
        `token '${this.token.label}' created key '${options.label}' without the requested protection (${weak.join(', ')}); ${destroyed ? 'the key was destroyed' : `destroying it FAILED: remove the objects labelled '${options.label}' with the token's tools before any further use`}`,
        { details: { label: options.label, problems: weak, destroyed } },
      );
    }
    return { publicKey, privateKey, spki: this.publicKeySpki(publicKey) };
  }

  generateAesKey(bits: 128 | 256, options: GenerateKeyOptions): KeyRef {
    const L = lib();
    this.#ensureLabelFree(options.label);
    const id = options.id ?? randomBytes(16);
    const template: Attribute[] = [
      { type: L.CKA_CLASS, value: L.CKO_SECRET_KEY },
      { type: L.CKA_KEY_TYPE, value: L.CKK_AES },
      { type: L.CKA_TOKEN, value: true },
      { type: L.CKA_PRIVATE, value: true },
      { type: L.CKA_SENSITIVE, value: true },
      { type: L.CKA_EXTRACTABLE, value: false },
      { type: L.CKA_ENCRYPT, value: true },
      { type: L.CKA_DECRYPT, value: true },
      { type: L.CKA_WRAP, value: false },
      { type: L.CKA_UNWRAP, value: false },
      { type: L.CKA_SIGN, value: false },
      { type: L.CKA_DERIVE, value: false },
      { type: L.CKA_VALUE_LEN, value: bits / 8 },
      { type: L.CKA_LABEL, value: options.label },
      { type: L.CKA_ID, value: id },
    ];
    try {
      const handle = this.#p.C_GenerateKey(this.#h(), { mechanism: L.CKM_AES_KEY_GEN }, template);
      return { class: 'secret', keyType: 'AES', label: options.label, id: id.toString('hex'), handle };
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx(`generating AES-${bits} key '${options.label}'`));
    }
  }

  findKeys(query: { label?: string; id?: string; class?: KeyClass }): KeyRef[] {
    const L = lib();
    const template: Attribute[] = [];
    if (query.label !== undefined) template.push({ type: L.CKA_LABEL, value: query.label });
    if (query.id !== undefined) template.push({ type: L.CKA_ID, value: Buffer.from(query.id, 'hex') });
    if (query.class !== undefined) template.push({ type: L.CKA_CLASS, value: classConst(query.class) });
    const h = this.#h();
    const handles: Buffer[] = [];
    try {
      this.#p.C_FindObjectsInit(h, template);
      try {
        for (;;) {
          const batch = this.#p.C_FindObjects(h, 64);
          if (batch.length === 0) break;
          handles.push(...batch);
        }
      } finally {
        this.#p.C_FindObjectsFinal(h);
      }
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx('searching for keys'));
    }
    const out: KeyRef[] = [];
    for (const handle of handles) {
      const cls = this.#attr(handle, L.CKA_CLASS)?.readUInt32LE(0);
      const kclass: KeyClass | undefined = cls === L.CKO_PRIVATE_KEY ? 'private' : cls === L.CKO_PUBLIC_KEY ? 'public' : cls === L.CKO_SECRET_KEY ? 'secret' : undefined;
      if (kclass === undefined) continue; // certificates and data objects are not keys
      const kt = this.#attr(handle, L.CKA_KEY_TYPE)?.readUInt32LE(0);
      const keyType: KeyRef['keyType'] = kt === L.CKK_RSA ? 'RSA' : kt === L.CKK_EC ? 'EC' : kt === L.CKK_AES ? 'AES' : 'OTHER';
      out.push({
        class: kclass,
        keyType,
        label: this.#attr(handle, L.CKA_LABEL)?.toString('utf8') ?? '',
        id: this.#attr(handle, L.CKA_ID)?.toString('hex') ?? '',
        handle,
      });
    }
    return out;
  }

  findKey(cls: KeyClass, label: string, id?: string): KeyRef {
    const found = this.findKeys({ label, class: cls, ...(id === undefined ? {} : { id }) });
    if (found.length === 0) {
      throw new CoreError('ERR_HSM_OBJECT_NOT_FOUND', `no ${cls} key labelled '${label}'${id === undefined ? '' : ` with id ${id}`} on token '${this.token.label}'${this.#loggedIn ? '' : ' (private keys are only visible after login)'}`, {
        details: { label, token: this.token.label },
      });
    }
    if (found.length > 1) {
      throw new CoreError('ERR_HSM_OBJECT_AMBIGUOUS', `${found.length} ${cls} keys are labelled '${label}' on token '${this.token.label}'; give the key id as well`, {
        details: { label, ids: found.map((k) => k.id) },
      });
    }
    return found[0]!;
  }

  /** Reads one attribute; undefined when the object does not have it or it is sensitive. */
  #attr(handle: Buffer, type: number): Buffer | undefined {
    try {
      const [a] = this.#p.C_GetAttributeValue(this.#h(), handle, [{ type }]);
      return a?.value;
    } catch (e) {
      const rv = ckrOf(e);
      if (rv === CKR.ATTRIBUTE_TYPE_INVALID || rv === CKR.ATTRIBUTE_SENSITIVE) return undefined;
      throw mapPkcs11Error(e, this.#ctx('reading key attributes'));
    }
  }

  publicKeySpki(key: KeyRef): Buffer {
    const L = lib();
    // Private keys carry their public components as public attributes (CKA_MODULUS/CKA_PUBLIC_EXPONENT
    // for RSA; EC private keys do not carry the point, so use the matching public object).
    let handle = key.handle;
    if (key.class === 'private' && key.keyType === 'EC') {
      handle = this.findKey('public', key.label, key.id).handle;
    }
    if (key.keyType === 'RSA') {
      const n = this.#attr(handle, L.CKA_MODULUS);
      const e = this.#attr(handle, L.CKA_PUBLIC_EXPONENT);
      if (n === undefined || e === undefined) throw new CoreError('ERR_HSM_FAILED', this.#ctx(`reading the public key of '${key.label}'`) + ': modulus or exponent missing');
      return rsaSpki(n, e);
    }
    if (key.keyType === 'EC') {
      const params = this.#attr(handle, L.CKA_EC_PARAMS);
      const curve = params === undefined ? undefined : curveOfParams(params);
      if (curve === undefined) throw new CoreError('ERR_HSM_KEY_TYPE_UNSUPPORTED', this.#ctx(`key '${key.label}'`) + ' uses a curve other than P-256 or P-384');
      const point = this.#attr(handle, L.CKA_EC_POINT);
      if (point === undefined) throw new CoreError('ERR_HSM_FAILED', this.#ctx(`reading the public key of '${key.label}'`) + ': EC point missing');
      return ecSpki(curve, unwrapEcPoint(point, curve));
    }
    throw new CoreError('ERR_HSM_KEY_TYPE_UNSUPPORTED', `key '${key.label}' is ${key.keyType}; only RSA and EC keys have a public key`);
  }

  protection(key: KeyRef): KeyProtection {
    const L = lib();
    // Fail closed: a protective attribute the token does not report reads as absent protection,
    // a permissive one (extractable, decrypt, …) as granted.
    // Private keys have no CKA_ENCRYPT or CKA_WRAP (PKCS#11 v2.40 §4.9): absent there means "cannot".
    const notApplicable = key.class === 'private' ? new Set<number>([L.CKA_ENCRYPT, L.CKA_WRAP]) : new Set<number>();
    const good = (t: number): boolean => boolAttr(this.#attr(key.handle, t), false);
    const risky = (t: number): boolean => (notApplicable.has(t) ? boolAttr(this.#attr(key.handle, t), false) : boolAttr(this.#attr(key.handle, t), true));
    return {
      token: good(L.CKA_TOKEN),
      private: good(L.CKA_PRIVATE),
      sensitive: good(L.CKA_SENSITIVE),
      extractable: risky(L.CKA_EXTRACTABLE),
      alwaysSensitive: good(L.CKA_ALWAYS_SENSITIVE),
      neverExtractable: good(L.CKA_NEVER_EXTRACTABLE),
      local: good(L.CKA_LOCAL),
      modifiable: risky(L.CKA_MODIFIABLE),
      sign: risky(L.CKA_SIGN),
      decrypt: risky(L.CKA_DECRYPT),
      unwrap: risky(L.CKA_UNWRAP),
      wrap: risky(L.CKA_WRAP),
      encrypt: risky(L.CKA_ENCRYPT),
      derive: risky(L.CKA_DERIVE),
    };
  }

  describeKeys(): KeyDescription[] {
    const L = lib();
    const keys = this.findKeys({});
    return keys
      .map((k): KeyDescription => {
        let algorithm: string = k.keyType;
        let spkiSha256: string | undefined;
        if (k.keyType === 'RSA') {
          const n = this.#attr(k.handle, L.CKA_MODULUS);
          algorithm = `RSA-${n === undefined ? '?' : n.length * 8}`;
        } else if (k.keyType === 'EC') {
          const params = this.#attr(k.handle, L.CKA_EC_PARAMS);
          algorithm = `EC ${(params === undefined ? undefined : curveOfParams(params)) ?? 'unknown curve'}`;
        } else if (k.keyType === 'AES') {
          const len = this.#attr(k.handle, L.CKA_VALUE_LEN);
          algorithm = `AES-${len === undefined ? '?' : len.readUInt32LE(0) * 8}`;
        }
        if (k.keyType === 'RSA' || k.keyType === 'EC') {
          try {
            spkiSha256 = createHash('sha256').update(this.publicKeySpki(k)).digest('hex');
          } catch {
            spkiSha256 = undefined;
          }
        }
        const d: KeyDescription = { class: k.class, keyType: k.keyType, label: k.label, id: k.id, algorithm };
        if (spkiSha256 !== undefined) d.spkiSha256 = spkiSha256;
        if (k.class !== 'public') d.protection = this.protection(k);
        return d;
      })
      .sort((a, b) => a.label.localeCompare(b.label) || a.class.localeCompare(b.class));
  }

  sign(key: KeyRef, algorithm: SignAlgorithm, data: Uint8Array): Buffer {
    const alg = SIGN_ALGS[algorithm];
    if (key.class !== 'private') throw new TypeError(`sign() needs a private key, got a ${key.class} key`);
    if (alg.keyType !== key.keyType) {
      throw new CoreError('ERR_HSM_KEY_TYPE_UNSUPPORTED', `${algorithm} cannot be used with the ${key.keyType} key '${key.label}'`);
    }
    const input = alg.hash === undefined ? Buffer.from(data) : createHash(alg.hash).update(data).digest();
    const h = this.#h();
    let sig: Buffer;
    try {
      this.#p.C_SignInit(h, { mechanism: alg.mech() }, key.handle);
      // 1024 bytes holds RSA-8192 and any ECDSA signature.
      sig = this.#p.C_Sign(h, input, Buffer.alloc(1024));
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx(`signing with key '${key.label}'`));
    }
    this.#stats.signatures++;
    return alg.keyType === 'EC' ? ecdsaRawToDer(sig) : Buffer.from(sig);
  }

  encryptAesGcm(key: KeyRef, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
    const L = lib();
    const h = this.#h();
    try {
      this.#p.C_EncryptInit(h, { mechanism: L.CKM_AES_GCM, parameter: gcmParams(iv, aad) }, key.handle);
      return Buffer.from(this.#p.C_Encrypt(h, plaintext, Buffer.alloc(plaintext.length + 16)));
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx(`encrypting with key '${key.label}'`));
    }
  }

  decryptAesGcm(key: KeyRef, iv: Buffer, aad: Buffer, ciphertextAndTag: Buffer): Buffer {
    const L = lib();
    const h = this.#h();
    try {
      this.#p.C_DecryptInit(h, { mechanism: L.CKM_AES_GCM, parameter: gcmParams(iv, aad) }, key.handle);
      return Buffer.from(this.#p.C_Decrypt(h, ciphertextAndTag, Buffer.alloc(ciphertextAndTag.length)));
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx(`decrypting with key '${key.label}'`));
    }
  }

  random(length: number): Buffer {
    if (!Number.isInteger(length) || length <= 0 || length > 65536) throw new TypeError(`random(): length must be 1..65536, got ${length}`);
    try {
      return Buffer.from(this.#p.C_GenerateRandom(this.#h(), Buffer.alloc(length)));
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx('drawing random bytes'));
    }
  }

  destroy(key: KeyRef): void {
    try {
      this.#p.C_DestroyObject(this.#h(), key.handle);
    } catch (e) {
      throw mapPkcs11Error(e, this.#ctx(`destroying key '${key.label}'`));
    }
  }

  close(): void {
    if (this.#handle === null) return;
    try {
      this.logout();
    } catch {
      // closing the session logs out anyway
    }
    try {
      this.#p.C_CloseSession(this.#handle);
    } catch {
      // already closed by the module (e.g. token removed)
    }
    this.#handle = null;
    this.#onClose(this);
  }
}

/**
 * What is wrong with a freshly generated signing key's protection (empty when it is as requested:
 * token, private, sensitive, always sensitive, never extractable, generated on the token, and no
 * decrypt/unwrap/derive).
 */
export function protectionProblems(p: KeyProtection): string[] {
  const problems: string[] = [];
  if (!p.token) problems.push('not a token object');
  if (!p.private) problems.push('not private');
  if (!p.sensitive) problems.push('not sensitive');
  if (p.extractable) problems.push('extractable');
  if (!p.alwaysSensitive) problems.push('not always sensitive');
  if (!p.neverExtractable) problems.push('not never-extractable');
  if (!p.local) problems.push('not generated on the token');
  if (p.decrypt) problems.push('may decrypt');
  if (p.unwrap) problems.push('may unwrap');
  if (p.derive) problems.push('may derive');
  return problems;
}

function gcmParams(iv: Buffer, aad: Buffer): Pkcs11Module_.AesGCM {
  return { type: lib().CK_PARAMS_AES_GCM, iv, aad, ivBits: iv.length * 8, tagBits: 128 };
}

function classConst(c: KeyClass): number {
  const L = lib();
  return c === 'private' ? L.CKO_PRIVATE_KEY : c === 'public' ? L.CKO_PUBLIC_KEY : L.CKO_SECRET_KEY;
}

/** `RSA-4096` / `EC P-256`. */
export function describeSpec(spec: KeySpec): string {
  return spec.type === 'RSA' ? `RSA-${spec.bits}` : `EC ${spec.curve}`;
}
