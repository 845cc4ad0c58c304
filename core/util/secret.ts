/**
 * @module util/secret
 * A holder for secret bytes (PINs, passphrases, shares, key material) that cannot leak by accident:
 * it prints, inspects and serialises as `[REDACTED]`, exposes its bytes only through an explicit
 * `use()` call, and wipes them on `wipe()`. Secrets from the redactor's point of view are registered
 * here so that log output can be scrubbed of their exact text as a second line of defence.
 *
 * Must never: expose the bytes as an enumerable property, or keep a copy after `wipe()`.
 */
import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

import { CoreError } from '../errors.ts';

const REDACTED = '[REDACTED]';

/**
 * Live secrets' textual forms, so the log redactor can scrub them if they ever reach a log line.
 * Reference-counted: two live secrets may share a text (a clone, a normalised copy), and wiping one
 * must not stop the other from being scrubbed.
 */
const liveSecretTexts = new Map<string, number>();

/** A snapshot of the registered secret texts (for the redactor; there are only a few live secrets). */
export function registeredSecretTexts(): ReadonlySet<string> {
  return new Set(liveSecretTexts.keys());
}

function unregister(text: string): void {
  const n = liveSecretTexts.get(text) ?? 0;
  if (n <= 1) liveSecretTexts.delete(text);
  else liveSecretTexts.set(text, n - 1);
}

/** Minimum length of a secret text that is registered for scrubbing (shorter ones cause false hits). */
const MIN_REGISTERED_LENGTH = 4;

/**
 * Secret bytes. Create with {@link Secret.fromBytes} or {@link Secret.fromString}; read with
 * {@link Secret.use}; destroy with {@link Secret.wipe}.
 */
export class Secret {
  #bytes: Buffer | null;
  #texts: string[] = [];

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** Takes ownership of `bytes` (the caller's buffer is wiped when the secret is wiped). */
  static fromBytes(bytes: Uint8Array): Secret {
    const owned = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const s = new Secret(owned);
    s.#register(owned.toString('utf8'));
    s.#register(owned.toString('hex'));
    s.#register(owned.toString('base64'));
    return s;
  }

  /** Copies a string secret (e.g. a typed passphrase). JS strings cannot be wiped; drop the reference. */
  static fromString(text: string): Secret {
    const s = new Secret(Buffer.from(text, 'utf8'));
    s.#register(text);
    return s;
  }

  #register(text: string): void {
    if (text.length >= MIN_REGISTERED_LENGTH && !this.#texts.includes(text)) {
      liveSecretTexts.set(text, (liveSecretTexts.get(text) ?? 0) + 1);
      this.#texts.push(text);
    }
  }

  /** Length in bytes. */
  get length(): number {
    return this.#live().length;
  }

  /** True once wiped. */
  get wiped(): boolean {
    return this.#bytes === null;
  }

  /** Calls `fn` with the secret bytes; do not keep the buffer beyond the call. */
  use<T>(fn: (bytes: Buffer) => T): T {
    return fn(this.#live());
  }

  /**
   * Returns the secret as text for an API that only accepts strings (e.g. PKCS#11 `C_Login` in
   * pkcs11js). The returned string cannot be wiped: use it immediately and drop it.
   */
  unsafeText(encoding: 'utf8' | 'hex' = 'utf8'): string {
    const t = this.#live().toString(encoding);
    this.#register(t);
    return t;
  }

  /** Constant-time equality with another secret. */
  equals(other: Secret): boolean {
    const a = this.#live();
    return other.use((b) => a.length === b.length && timingSafeEqual(a, b));
  }

  /** A copy that can be wiped independently. */
  clone(): Secret {
    return Secret.fromBytes(Buffer.from(this.#live()));
  }

  /** Overwrites the bytes with zeros and forgets them. Idempotent. */
  wipe(): void {
    if (this.#bytes !== null) {
      this.#bytes.fill(0);
      this.#bytes = null;
    }
    for (const t of this.#texts) unregister(t);
    this.#texts = [];
  }

  #live(): Buffer {
    if (this.#bytes === null) throw new CoreError('ERR_SECRET_INVALID', 'this secret was already wiped; enter it again');
    return this.#bytes;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Runs `fn` with `secret` and wipes it afterwards, even on failure. */
export async function withSecret<T>(secret: Secret, fn: (s: Secret) => Promise<T> | T): Promise<T> {
  try {
    return await fn(secret);
  } finally {
    secret.wipe();
  }
}

/** Constant-time comparison of two byte strings (false when lengths differ). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
