/**
 * @module hsm/types
 * The narrow HSM port the rest of NEAM CA sees (modelled on boulder's `pkcs11helpers.PKCtx`):
 * open a module, find a token by label and serial, log in, generate key pairs that fail closed,
 * find keys by label and id, read public keys and protection attributes, sign, draw random bytes.
 * No other module imports the PKCS#11 binding.
 *
 * Must never: return or accept private key bytes, or identify a token by slot number.
 */
import type { Secret } from '../util/secret.ts';

/** Asymmetric key types the port can generate. */
export type KeySpec =
  | { readonly type: 'RSA'; readonly bits: 2048 | 3072 | 4096 }
  | { readonly type: 'EC'; readonly curve: 'P-256' | 'P-384' };

/** Signature algorithms; the port returns X.509/CMS-ready signatures (DER for ECDSA). */
export type SignAlgorithm = 'RSA-PKCS1-SHA256' | 'RSA-PKCS1-SHA384' | 'RSA-PKCS1-SHA512' | 'ECDSA-SHA256' | 'ECDSA-SHA384';

/** Token identity and state as reported by the module. */
export interface TokenInfo {
  label: string;
  serial: string;
  manufacturer: string;
  model: string;
  /** True once the token has been initialised (has a label and SO PIN). */
  initialized: boolean;
  /** True once the user PIN is set. */
  userPinInitialized: boolean;
  loginRequired: boolean;
  /** The token reports a failed user login since the last success. */
  userPinCountLow: boolean;
  /** The next wrong user PIN locks the token. */
  userPinFinalTry: boolean;
  userPinLocked: boolean;
  soPinLocked: boolean;
  hasRng: boolean;
  /** Informational only: slot numbers change between runs on SoftHSM; never use them to identify. */
  slotDescription: string;
}

/** How to pick a token: label, and the serial wherever it is known (labels are not unique). */
export interface TokenSelector {
  label: string;
  serial?: string;
}

/** Object class of a key. */
export type KeyClass = 'private' | 'public' | 'secret';

/** A key object found on the token. `handle` is only valid within the session that found it. */
export interface KeyRef {
  readonly class: KeyClass;
  readonly keyType: 'RSA' | 'EC' | 'AES' | 'OTHER';
  readonly label: string;
  /** CKA_ID as lower-case hex. */
  readonly id: string;
  /** Opaque session-local handle. */
  readonly handle: Buffer;
}

/** The PKCS#11 attributes that prove how a key is protected. */
export interface KeyProtection {
  token: boolean;
  private: boolean;
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  local: boolean;
  modifiable: boolean;
  sign: boolean;
  decrypt: boolean;
  unwrap: boolean;
  wrap: boolean;
  encrypt: boolean;
  derive: boolean;
}

/** A key with its description, as listed by `neam-ca hsm keys`. */
export interface KeyDescription {
  class: KeyClass;
  keyType: KeyRef['keyType'];
  label: string;
  id: string;
  /** e.g. `RSA-4096`, `EC P-256`, `AES-256`. */
  algorithm: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex (public and private keys with a public half). */
  spkiSha256?: string;
  /** Only for private and secret keys. */
  protection?: KeyProtection;
}

/** Options when generating a key pair. Defaults fail closed. */
export interface GenerateKeyOptions {
  label: string;
  /** CKA_ID; random 16 bytes when omitted. */
  id?: Buffer;
}

/** A generated key pair. */
export interface KeyPairRef {
  publicKey: KeyRef;
  privateKey: KeyRef;
  /** SubjectPublicKeyInfo DER of the new key. */
  spki: Buffer;
}

/** An open session with one token. */
export interface HsmSession {
  readonly token: TokenInfo;
  /** Logs in as the user (default) or security officer. */
  login(pin: Secret, userType?: 'user' | 'so'): void;
  logout(): void;
  /** True while logged in on this session. */
  readonly loggedIn: boolean;
  /** Sets the user PIN (requires an SO login on this session). */
  initUserPin(pin: Secret): void;
  /** Changes the PIN of the logged-in user from `oldPin` to `newPin` (C_SetPIN). */
  setPin(oldPin: Secret, newPin: Secret): void;
  /** Generates a key pair inside the token: token, private, sensitive, never extractable, sign only. */
  generateKeyPair(spec: KeySpec, options: GenerateKeyOptions): KeyPairRef;
  /** Generates an AES key inside the token (sensitive, not extractable, encrypt/decrypt only). */
  generateAesKey(bits: 128 | 256, options: GenerateKeyOptions): KeyRef;
  /** Finds keys by label and/or id (hex) and/or class. */
  findKeys(query: { label?: string; id?: string; class?: KeyClass }): KeyRef[];
  /** Finds exactly one key of `class` with `label` (and `id` when given). */
  findKey(cls: KeyClass, label: string, id?: string): KeyRef;
  /** SubjectPublicKeyInfo DER of a public or private key (from its public attributes). */
  publicKeySpki(key: KeyRef): Buffer;
  /** Reads the protection attributes of a private or secret key. */
  protection(key: KeyRef): KeyProtection;
  /** Describes every key object on the token. */
  describeKeys(): KeyDescription[];
  /** Signs `data` (the message, not a digest) with a private key. */
  sign(key: KeyRef, algorithm: SignAlgorithm, data: Uint8Array): Buffer;
  /** AES-GCM encryption with a token-held key; returns ciphertext‖tag. */
  encryptAesGcm(key: KeyRef, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer;
  /** AES-GCM decryption with a token-held key. */
  decryptAesGcm(key: KeyRef, iv: Buffer, aad: Buffer, ciphertextAndTag: Buffer): Buffer;
  /** Random bytes from the token's RNG. */
  random(length: number): Buffer;
  /** Destroys an object. Irreversible. */
  destroy(key: KeyRef): void;
  close(): void;
}

/** Counters kept by a module (tests assert e.g. that a refused request made no signature). */
export interface HsmStats {
  signatures: number;
  keyPairsGenerated: number;
  logins: number;
}

/** An opened PKCS#11 module. */
export interface HsmModule {
  readonly modulePath: string;
  readonly stats: Readonly<HsmStats>;
  /** Library description (manufacturer, version). */
  info(): { manufacturer: string; description: string; cryptokiVersion: string; libraryVersion: string };
  /** Every token present (initialised or not). */
  tokens(): TokenInfo[];
  /** The one token matching the selector. */
  findToken(selector: TokenSelector): TokenInfo;
  /**
   * Initialises a free slot's token with `label`, sets the SO PIN and the user PIN.
   * Refuses when a token with that label already exists.
   */
  initToken(label: string, soPin: Secret, userPin: Secret): TokenInfo;
  /** Opens a session (read-write by default) on the token matching the selector. */
  openSession(selector: TokenSelector, options?: { readWrite?: boolean }): HsmSession;
  /** Closes all sessions and releases the module. */
  close(): void;
}

/** How to open a module. */
export interface OpenHsmOptions {
  /** Path of the PKCS#11 shared library. */
  modulePath: string;
  /**
   * SoftHSM only: the `softhsm2.conf` to use. SoftHSM reads `SOFTHSM2_CONF` when the library is
   * initialised, which is process-wide; one configuration may be open at a time per process.
   */
  softhsmConf?: string;
}
