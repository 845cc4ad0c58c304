/**
 * @module log/redact
 * The redactor every log line passes through. It removes, by construction and by pattern:
 * values under secret-named keys (pin, passphrase, share, secret, password, privateKey, token, …),
 * PEM private-key blocks, long hex/base64 runs that look like key material, and the exact text of
 * every live {@link Secret}. It is deliberately aggressive: a log line that loses a harmless value
 * is better than one that carries a PIN.
 *
 * Must never: throw (a failing redactor must not take the logger down with the secret in hand).
 */
import { registeredSecretTexts } from '../util/secret.ts';

/** Replacement text for removed content. */
export const REDACTED = '[REDACTED]';

const SECRET_KEY = /(pin|passphrase|password|passwd|secret|share|private[-_]?key|privkey|key[-_]?material|seed|token|authorization|cookie|credential)/i;
/** Keys that match SECRET_KEY but are known not to carry secrets (counts, ids, labels). */
const SAFE_KEY = /^(tokenLabel|tokenSerial|token_label|token_serial|tokens|tokenPresent|pinAttemptsLeft|shareIndex|shareCount|sharesNeeded|secretLength|keyLabel|tokenId|tokenHash|tokenExpiresAt)$/i;

const PEM_PRIVATE = /-----BEGIN ((?:RSA |EC |ENCRYPTED |DSA |OPENSSH )?PRIVATE KEY)-----[\s\S]*?(-----END \1-----|$)/g;
/** key=value / key: value pairs in free text with a secret-looking key. */
const INLINE_SECRET = /\b((?:user[-_]?)?pin|so[-_]?pin|passphrase|password|secret|share|token)\s*([=:])\s*("[^"]*"|'[^']*'|\S+)/gi;
/** `"pin": "…"` inside JSON-looking text (a request body quoted in a message). */
const JSON_SECRET = /("(?:[A-Za-z_]*[-_]?)?(?:pin|passphrase|password|secret|share|token|privateKey|private_key)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]+)/gi;
/** `PIN 482913`: a secret word followed by a value that contains a digit. */
const WORD_SECRET = /\b(pin|passcode|password|passphrase)(\s+)(?=\S*\d)\S+/gi;
/** Long hex (≥ 40 chars) or base64 (≥ 44 chars) runs: possible key material or shares. */
const LONG_HEX = /\b[0-9a-fA-F]{64,}\b/g;
const LONG_B64 = /[A-Za-z0-9+/_-]{60,}={0,2}/g;

/**
 * A file path in a message ("/tmp/neam-hsm-x1y2/tokens/…") is not key material: an absolute path
 * with several segments and no '+' or '=' is kept. A base64 blob starts with '/' only 1 time in 64,
 * and the exact-text, secret-key and PEM rules still apply to it.
 */
function looksLikePath(run: string): boolean {
  if (!run.startsWith('/') || /[+=]/u.test(run)) return false;
  const segments = run.split('/').filter((x) => x !== '');
  return segments.length >= 2 && segments.every((x) => x.length <= 48);
}

/** Redacts a free-text string. */
export function redactText(text: string): string {
  let out = text.replace(PEM_PRIVATE, `-----BEGIN $1----- ${REDACTED}`);
  out = out.replace(INLINE_SECRET, (_m, k: string, sep: string) => `${k}${sep}${REDACTED}`);
  out = out.replace(JSON_SECRET, (_m, k: string) => `${k}"${REDACTED}"`);
  out = out.replace(WORD_SECRET, (_m, k: string, sp: string) => `${k}${sp}${REDACTED}`);
  for (const s of registeredSecretTexts()) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  out = out.replace(LONG_HEX, REDACTED).replace(LONG_B64, (run) => (looksLikePath(run) ? run : REDACTED));
  return out;
}

/** Redacts any JSON-like value: secret-named keys are replaced, strings are scrubbed. */
export function redactValue(value: unknown, depth = 0): unknown {
  try {
    if (depth > 12) return '[…]';
    if (typeof value === 'string') return redactText(value);
    if (value === null || typeof value !== 'object') return value;
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      return { name: value.name, ...(code === undefined ? {} : { code }), message: redactText(value.message) };
    }
    if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      // Class instances (including Secret) are not walked: only their safe string form is kept.
      return redactText(String(value));
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) && !SAFE_KEY.test(k) ? REDACTED : redactValue(v, depth + 1);
    }
    return out;
  } catch {
    return REDACTED;
  }
}
