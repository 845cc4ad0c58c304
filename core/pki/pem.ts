/**
 * @module pki/pem
 * Strict PEM (RFC 7468 §3, "strict" textual encoding, with CRLF or LF line ends) and the
 * PEM-or-DER reader every importer uses. Refused: text outside the blocks, headers (RFC 1421
 * `Proc-Type`), mismatched BEGIN/END labels, labels the caller did not ask for, non-canonical
 * base64, and inputs over the size limit.
 *
 * Must never: silently skip content it does not understand.
 */
import { CoreError } from '../errors.ts';

/** One PEM block. */
export interface PemBlock {
  label: string;
  der: Buffer;
}

/** PEM labels used by NEAM CA. */
export const PEM_LABEL = {
  certificate: 'CERTIFICATE',
  csr: 'CERTIFICATE REQUEST',
  crl: 'X509 CRL',
  publicKey: 'PUBLIC KEY',
} as const;

/** Default upper bound of a PEM/DER input (1 MiB; CRLs may pass a larger limit). */
export const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024;

/** Options for {@link parsePem}. */
export interface ParsePemOptions {
  /** Accepted labels (any label when omitted). */
  labels?: readonly string[];
  /** Maximum input size in bytes (default {@link DEFAULT_MAX_INPUT_BYTES}). */
  maxBytes?: number;
  /** What the input is, for messages (e.g. a file name). */
  source?: string;
}

const BEGIN = /^-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[\x21-\x2c\x2e-\x7e -]*[\x21-\x2c\x2e-\x7e])?)-----$/u;
const END = /^-----END (.*)-----$/u;
const B64_LINE = /^[A-Za-z0-9+/]+={0,2}$/u;

function pemError(source: string, message: string): never {
  throw new CoreError('ERR_PKI_PEM_INVALID', `${source} is not valid PEM: ${message}`, { details: { source } });
}

function asText(input: string | Uint8Array, maxBytes: number, source: string): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) {
    throw new CoreError('ERR_INPUT_TOO_LARGE', `${source} is ${size} bytes, more than the limit of ${maxBytes} bytes for this kind of input`, { details: { source, size, maxBytes } });
  }
  return typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
}

/**
 * Parses one or more PEM blocks. Only whitespace may appear between and around blocks.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parsePem(input: string | Uint8Array, options: ParsePemOptions = {}): PemBlock[] {
  const source = options.source ?? 'the input';
  const text = asText(input, options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES, source);
  const lines = text.split(/\r?\n/u);
  const blocks: PemBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = (lines[i] as string).replace(/[ \t]+$/u, '');
    if (line === '') {
      i++;
      continue;
    }
    const begin = BEGIN.exec(line);
    if (begin === null) {
      pemError(source, `line ${i + 1} is outside any BEGIN/END block (${describeLine(line)}); remove text before, between or after the blocks`);
    }
    const label = begin[1] as string;
    if (options.labels !== undefined && !options.labels.includes(label)) {
      pemError(source, `line ${i + 1} begins a '${label}' block; expected ${options.labels.map((l) => `'${l}'`).join(' or ')}`);
    }
    const startLine = i + 1;
    i++;
    const body: string[] = [];
    let ended = false;
    while (i < lines.length) {
      const l = (lines[i] as string).replace(/[ \t]+$/u, '');
      const end = END.exec(l);
      if (end !== null) {
        if (end[1] !== label) pemError(source, `block '${label}' opened on line ${startLine} is closed by END '${end[1] ?? ''}' on line ${i + 1}`);
        ended = true;
        i++;
        break;
      }
      if (l.includes(':')) pemError(source, `line ${i + 1} is a PEM header ('${describeLine(l)}'); encrypted or annotated PEM is not accepted`);
      if (!B64_LINE.test(l)) pemError(source, `line ${i + 1} is not base64 (${describeLine(l)})`);
      if (l.length > 76) pemError(source, `line ${i + 1} is ${l.length} characters long (at most 64 expected, 76 tolerated)`);
      body.push(l);
      i++;
    }
    if (!ended) pemError(source, `block '${label}' opened on line ${startLine} has no END line (truncated?)`);
    const b64 = body.join('');
    if (b64.length === 0) pemError(source, `block '${label}' on line ${startLine} is empty`);
    if (b64.length % 4 !== 0 || /=[^=]/u.test(b64)) pemError(source, `block '${label}' on line ${startLine} has base64 of a wrong length or misplaced padding (truncated?)`);
    const der = Buffer.from(b64, 'base64');
    if (der.toString('base64') !== b64) pemError(source, `block '${label}' on line ${startLine} is not canonical base64`);
    blocks.push({ label, der });
  }
  if (blocks.length === 0) pemError(source, 'no -----BEGIN …----- block found');
  return blocks;
}

function describeLine(line: string): string {
  const shown = line.length > 40 ? `${line.slice(0, 40)}…` : line;
  // Printable ASCII only in messages.
  return `'${shown.replace(/[^\x20-\x7e]/gu, '?')}'`;
}

/**
 * Parses exactly one PEM block with `label`.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parsePemOne(input: string | Uint8Array, label: string, options: Omit<ParsePemOptions, 'labels'> = {}): Buffer {
  const blocks = parsePem(input, { ...options, labels: [label] });
  if (blocks.length !== 1) pemError(options.source ?? 'the input', `expected one '${label}' block, found ${blocks.length}`);
  return (blocks[0] as PemBlock).der;
}

/** Encodes DER as PEM with 64-character lines and a final newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/gu) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** True when `input` looks like PEM text (starts, after whitespace, with `-----BEGIN `). */
export function looksLikePem(input: string | Uint8Array): boolean {
  const head = typeof input === 'string' ? input.slice(0, 256) : Buffer.from(input.buffer, input.byteOffset, Math.min(256, input.byteLength)).toString('latin1');
  return /^\s*-----BEGIN /u.test(head);
}

/** A DER object read from PEM or DER input. */
export interface ReadObject {
  der: Buffer;
  format: 'pem' | 'der';
  /** The PEM label, when the input was PEM. */
  label?: string;
}

/**
 * Reads one object given as PEM (one block with one of `labels`) or raw DER.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_INPUT_TOO_LARGE
 */
export function readPemOrDer(input: string | Uint8Array, labels: readonly string[], options: Omit<ParsePemOptions, 'labels'> = {}): ReadObject {
  const source = options.source ?? 'the input';
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  if (typeof input === 'string' || looksLikePem(input)) {
    const blocks = parsePem(input, { ...options, labels });
    if (blocks.length !== 1) pemError(source, `expected one block, found ${blocks.length}`);
    const b = blocks[0] as PemBlock;
    return { der: b.der, format: 'pem', label: b.label };
  }
  if (input.byteLength > maxBytes) {
    throw new CoreError('ERR_INPUT_TOO_LARGE', `${source} is ${input.byteLength} bytes, more than the limit of ${maxBytes} bytes for this kind of input`, { details: { source, size: input.byteLength, maxBytes } });
  }
  return { der: Buffer.from(input.buffer, input.byteOffset, input.byteLength), format: 'der' };
}
