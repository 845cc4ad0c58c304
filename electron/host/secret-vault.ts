/**
 * @module electron/host/secret-vault
 * Holds the secrets people type into the UI (token PINs, custodians' passphrases) on the main side,
 * so the renderer never keeps them. The renderer submits
 * a secret once and gets back an opaque, single-use handle with a short lifetime; the operation
 * that needs the secret takes it by handle, which removes it from the vault, and wipes it after use.
 * Expired and discarded secrets are wiped.
 *
 * Must never: return a secret to the renderer, log one, or keep one after it was taken, discarded
 * or expired.
 */
import { CoreError } from '../../core/errors.ts';
import { Secret } from '../../core/util/secret.ts';
import type { SecretPurpose } from '../ipc/contract.ts';

interface Held {
  secret: Secret;
  purpose: SecretPurpose;
  expiresAt: number;
}

/** Options of {@link SecretVault}. */
export interface SecretVaultOptions {
  /** Lifetime of an unused secret, in seconds (default 120). */
  ttlSeconds?: number;
  /** Clock in milliseconds (tests pass a fake). */
  now?: () => number;
  /** Random bytes for handles. */
  random: (n: number) => Uint8Array;
  /** At most this many secrets held at once (default 32): a runaway renderer cannot fill memory. */
  capacity?: number;
}

/** Main-side store of submitted secrets, addressed by single-use handles. */
export class SecretVault {
  readonly #held = new Map<string, Held>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #random: (n: number) => Uint8Array;
  readonly #capacity: number;

  constructor(options: SecretVaultOptions) {
    this.#ttlMs = (options.ttlSeconds ?? 120) * 1000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random;
    this.#capacity = options.capacity ?? 32;
  }

  /** Seconds an unused secret lives. */
  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  /** Number of secrets currently held (for tests and diagnostics). */
  get size(): number {
    this.sweep();
    return this.#held.size;
  }

  /**
   * Wraps `text` as a {@link Secret} and returns its handle. The caller drops its string at once.
   * @throws {CoreError} ERR_APP_STATE_INVALID when the vault is full
   */
  put(purpose: SecretPurpose, text: string): string {
    this.sweep();
    if (this.#held.size >= this.#capacity) {
      throw new CoreError('ERR_APP_STATE_INVALID', 'too many secrets are waiting to be used; finish or cancel the current entry, then enter the secret again');
    }
    const handle = `sh_${Buffer.from(this.#random(24)).toString('base64url')}`;
    this.#held.set(handle, { secret: Secret.fromString(text), purpose, expiresAt: this.#now() + this.#ttlMs });
    return handle;
  }

  /**
   * Removes and returns the secret behind `handle`; the caller wipes it (use `withSecret`).
   * @throws {CoreError} ERR_SECRET_INVALID when the handle is unknown, used, expired or for another purpose
   */
  take(handle: string, purpose: SecretPurpose): Secret {
    this.sweep();
    const held = this.#held.get(handle);
    this.#held.delete(handle);
    if (held === undefined) {
      throw new CoreError('ERR_SECRET_INVALID', `the ${describe(purpose)} entered earlier has expired or was already used; enter it again`);
    }
    if (held.purpose !== purpose) {
      held.secret.wipe();
      throw new CoreError('ERR_SECRET_INVALID', `the secret entered was for another purpose (${describe(held.purpose)}, not ${describe(purpose)}); enter the ${describe(purpose)} again`);
    }
    return held.secret;
  }

  /** Wipes the secret behind `handle`; true when there was one. */
  discard(handle: string): boolean {
    const held = this.#held.get(handle);
    this.#held.delete(handle);
    held?.secret.wipe();
    this.sweep();
    return held !== undefined;
  }

  /** Wipes every expired secret. */
  sweep(): void {
    const now = this.#now();
    for (const [handle, held] of this.#held) {
      if (held.expiresAt <= now) {
        held.secret.wipe();
        this.#held.delete(handle);
      }
    }
  }

  /** Wipes everything (window closed or reloaded, application quitting). */
  wipeAll(): void {
    for (const held of this.#held.values()) held.secret.wipe();
    this.#held.clear();
  }
}

function describe(purpose: SecretPurpose): string {
  switch (purpose) {
    case 'hsm-user-pin':
      return 'token PIN';
    case 'ceremony-pin':
      return "token's PIN";
    case 'custodian-passphrase':
      return "custodian's passphrase";
  }
}
