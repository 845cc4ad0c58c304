import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { makeManifest, manifestBytes, manifestSha256, parseManifest, type Manifest } from '../../../core/bundle/index.ts';
import { canonicalJsonBytes } from '../../../core/util/canonical-json.ts';
import { expectCode } from './fixtures.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const good: Manifest = {
  formatVersion: 1,
  kind: 'crl',
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  sender: A,
  recipient: B,
  sequence: 2,
  previousManifestSha256: 'c'.repeat(64),
  createdAt: '2027-01-31T12:00:00Z',
  expiresAt: '2027-02-14T12:00:00Z',
  files: [
    { path: 'payload/index.json', size: 10, sha256: 'd'.repeat(64), mediaType: 'application/json' },
    { path: 'payload/root.crl', size: 700, sha256: 'e'.repeat(64), mediaType: 'application/pkix-crl' },
  ],
};

const parse = (value: unknown): Manifest => parseManifest(canonicalJsonBytes(value));

describe('manifest', () => {
  it('a valid manifest round-trips through its canonical bytes; its hash is the SHA-256 of those bytes', () => {
    const bytes = manifestBytes(good);
    expect(parseManifest(bytes)).toEqual(good);
    expect(manifestSha256(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.toString()).toMatch(/^\{"createdAt":/u);
  });

  // Table named by the violated field.
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['formatVersion', { formatVersion: 2 }, /formatVersion/u],
    ['kind', { kind: 'private-key' }, /kind/u],
    ['id', { id: 'not-a-uuid' }, /id: must be a lower-case random/u],
    ['sender', { sender: 'XYZ' }, /sender: must be 64 lower-case hex/u],
    ['recipient', { recipient: A }, /recipient: must differ from the sender/u],
    ['sequence', { sequence: 1.5 }, /sequence/u],
    ['sequence (zero)', { sequence: 0 }, /sequence/u],
    ['previousManifestSha256 (null after 1)', { previousManifestSha256: null }, /previousManifestSha256: must name the previous manifest/u],
    ['previousManifestSha256 (set at 1)', { sequence: 1 }, /previousManifestSha256: must be null for the first bundle/u],
    ['createdAt', { createdAt: '31/01/2027' }, /createdAt: must be an RFC 3339 UTC time/u],
    ['createdAt (not a real date)', { createdAt: '2027-02-30T12:00:00Z' }, /createdAt: is not a real date/u],
    ['expiresAt (before createdAt)', { expiresAt: '2027-01-01T00:00:00Z' }, /expiresAt: must be after createdAt/u],
    ['expiresAt (over 90 days)', { expiresAt: '2027-06-01T00:00:00Z' }, /expiresAt: must be at most 90 days/u],
    ['files (empty)', { files: [] }, /files/u],
    ['files.path (traversal)', { files: [{ ...good.files[0], path: 'payload/../x.json' }] }, /files\.0\.path: it contains '\.\.'/u],
    ['files.path (outside payload)', { files: [{ ...good.files[0], path: 'manifest.json' }] }, /files\.0\.path: payload files live under payload\//u],
    ['files.path (duplicate)', { files: [good.files[0], good.files[0]] }, /files\.1\.path: 'payload\/index\.json' is listed twice/u],
    ['files.path (extension)', { files: [{ ...good.files[0], path: 'payload/run.sh' }] }, /files\.0\.path: has an extension that is not allowed/u],
    ['files.size', { files: [{ ...good.files[0], size: -1 }] }, /files\.0\.size/u],
    ['files.sha256', { files: [{ ...good.files[0], sha256: 'D'.repeat(64) }] }, /files\.0\.sha256/u],
    ['files.mediaType', { files: [{ ...good.files[0], mediaType: 'text/html' }] }, /files\.0\.mediaType: must be application\/json/u],
    ['files (unknown field)', { files: [{ ...good.files[0], mode: 493 }] }, /files\.0: unknown field\(s\) 'mode'/u],
    ['(root) unknown field', { note: 'hi' }, /\(root\): unknown field\(s\) 'note'/u],
  ];
  for (const [field, change, message] of cases) {
    it(`refuses a bad ${field}`, () => {
      const e = expectCode(() => parse({ ...good, ...change }), 'ERR_BUNDLE_MANIFEST_INVALID');
      expect(e.message).toMatch(message);
    });
  }

  it('reports every problem at once', () => {
    const e = expectCode(() => parse({ ...good, sender: 'x', recipient: 'y', extra: 1 }), 'ERR_BUNDLE_MANIFEST_INVALID');
    expect(e.message).toMatch(/sender/u);
    expect(e.message).toMatch(/recipient/u);
    expect(e.message).toMatch(/extra/u);
  });

  it('refuses bytes that are not canonical JSON, not JSON, or not UTF-8', () => {
    expect(expectCode(() => parseManifest(Buffer.from(JSON.stringify(good, null, 1))), 'ERR_BUNDLE_MANIFEST_INVALID').message).toMatch(/canonical/u);
    expect(expectCode(() => parseManifest(Buffer.from('{"a":')), 'ERR_BUNDLE_MANIFEST_INVALID').message).toMatch(/not JSON/u);
    expect(expectCode(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d])), 'ERR_BUNDLE_MANIFEST_INVALID').message).toMatch(/UTF-8/u);
    const dup = manifestBytes(good).toString().replace('{', '{"kind":"crl",');
    expectCode(() => parseManifest(Buffer.from(dup)), 'ERR_BUNDLE_MANIFEST_INVALID');
  });

  it('makeManifest validates what it builds', () => {
    const { formatVersion: _v, ...fields } = good;
    expect(makeManifest(fields)).toEqual(good);
    expectCode(() => makeManifest({ ...fields, sequence: -1 }), 'ERR_BUNDLE_MANIFEST_INVALID');
  });
});
