import { describe, expect, it } from 'vitest';

import { createLogger, memorySink } from '../../../core/log/logger.ts';
import { redactText, redactValue } from '../../../core/log/redact.ts';
import { Secret } from '../../../core/util/secret.ts';

const RSA_KEY = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';

describe('redactor', () => {
  const cases: Array<{ name: string; input: unknown; secret: string }> = [
    { name: 'pin key', input: { pin: '123456' }, secret: '123456' },
    { name: 'userPin key', input: { userPin: 'abcdef' }, secret: 'abcdef' },
    { name: 'so_pin key', input: { so_pin: 'so-secret' }, secret: 'so-secret' },
    { name: 'passphrase key', input: { passphrase: 'correct horse battery' }, secret: 'correct horse battery' },
    { name: 'nested share', input: { custodians: [{ name: 'alice', share: 'c2hhcmUtYnl0ZXM=' }] }, secret: 'c2hhcmUtYnl0ZXM=' },
    { name: 'privateKey key', input: { privateKey: 'k' }, secret: '"k"' },
    { name: 'join token', input: { token: 'jt-1234567890' }, secret: 'jt-1234567890' },
    { name: 'PEM private key in a string', input: { note: `here: ${RSA_KEY}` }, secret: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7' },
    { name: 'inline pin=', input: 'login failed with pin=4321abcd for token x', secret: '4321abcd' },
    { name: 'inline passphrase:', input: 'passphrase: "s3cr3t phrase"', secret: 's3cr3t phrase' },
    { name: 'long hex run', input: { note: 'a'.repeat(64) }, secret: 'a'.repeat(64) },
    { name: 'Buffer', input: { data: Buffer.from('raw secret bytes') }, secret: 'raw secret bytes' },
    { name: 'Secret instance', input: { value: Secret.fromString('wrapped-secret') }, secret: 'wrapped-secret' },
  ];
  for (const c of cases) {
    it(`removes ${c.name}`, () => {
      expect(JSON.stringify(redactValue(c.input))).not.toContain(c.secret);
    });
  }

  it('keeps harmless fields (labels, serials, counts)', () => {
    expect(redactValue({ tokenLabel: 'root-2026', tokenSerial: 'abc', sharesNeeded: 2, label: 'k' })).toEqual({ tokenLabel: 'root-2026', tokenSerial: 'abc', sharesNeeded: 2, label: 'k' });
  });

  it('scrubs the text of every live Secret, even under an innocent key, until wiped', () => {
    const s = Secret.fromString('Tr0ub4dor&3-live');
    expect(redactText('the value Tr0ub4dor&3-live leaked')).toBe('the value [REDACTED] leaked');
    s.wipe();
    expect(redactText('Tr0ub4dor&3-live')).toBe('Tr0ub4dor&3-live');
  });

  it('the logger redacts messages and data before any sink sees them', () => {
    const sink = memorySink();
    const log = createLogger({ sinks: [sink], level: 'debug' }).child('hsm');
    const pin = Secret.fromString('pin-in-memory-77');
    log.info(`login pin=${'pin-in-memory-77'}`, { pin: 'pin-in-memory-77', passphrase: 'p', secret: pin });
    const text = JSON.stringify(sink.records);
    expect(text).not.toContain('pin-in-memory-77');
    expect(sink.records[0]!.scope).toBe('hsm');
    pin.wipe();
  });

  it('Secret never serialises its value', () => {
    const s = Secret.fromString('never-printed-1');
    expect(String(s)).toBe('[REDACTED]');
    expect(JSON.stringify({ s })).toBe('{"s":"[REDACTED]"}');
    expect(Object.keys(s)).toEqual([]);
    s.wipe();
    expect(() => s.use((b) => b)).toThrow(/already wiped/u);
  });

  it('Secret.wipe zeroes the caller-provided buffer', () => {
    const b = Buffer.from('zero-me-please');
    const s = Secret.fromBytes(b);
    s.wipe();
    expect(b.every((x) => x === 0)).toBe(true);
  });
});

describe('redactor second line of defence (review findings)', () => {
  it('wiping one copy of a secret text keeps scrubbing the other live copies', () => {
    const a = Secret.fromString('shared-text-passphrase-1');
    const b = a.clone();
    const c = Secret.fromString('shared-text-passphrase-1');
    b.wipe();
    c.wipe();
    expect(redactText('typed shared-text-passphrase-1')).toBe('typed [REDACTED]');
    a.wipe();
    expect(redactText('typed shared-text-passphrase-1')).toBe('typed shared-text-passphrase-1');
  });

  it('keeps long file paths in messages but still removes long base64 runs', () => {
    const path = '/tmp/neam-istio-AbC123xyz/shared/istio-crds/customresourcedefinitions.gen.yaml';
    expect(redactText(`cannot read ${path}`)).toBe(`cannot read ${path}`);
    const blob = Buffer.alloc(48, 7).toString('base64').replace(/^./u, '/');
    expect(redactText(`value ${'k'.repeat(70)}`)).toBe('value [REDACTED]');
    expect(redactText(`value ${blob}+x`)).toBe('value [REDACTED]');
  });

  it('removes JSON-shaped and spaced PIN values from free text', () => {
    expect(redactText('request body {"pin":"482913","label":"root"}')).toBe('request body {"pin":"[REDACTED]","label":"root"}');
    expect(redactText('body {"userPin": "a b c", "passphrase":"x\\"y"}')).not.toMatch(/a b c|x\\"y/u);
    expect(redactText('PIN 482913 rejected')).toBe('PIN [REDACTED] rejected');
    expect(redactText('the PIN is incorrect')).toBe('the PIN is incorrect');
  });
});
