import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { certStatus, expiringIdentities, insertCert, normaliseSerial, revoke, revokedForIssuer } from '../../../core/online/cert-store.ts';
import { createEntry, deleteEntry, getEntry, listEntries, updateEntry, type EntryLimits } from '../../../core/online/entries.ts';
import { checkJoinToken, consumeJoinToken, createJoinToken, hashToken, listJoinTokens } from '../../../core/online/join-tokens.ts';
import { evictNode, listNodes, recordAttestation } from '../../../core/online/nodes.ts';
import { openOnlineStore } from '../../../core/online/settings.ts';
import type { Store } from '../../../core/store/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';

const LIMITS: EntryLimits = { trustDomain: 'example.org', defaultTtlSeconds: 86_400, maxTtlSeconds: 86_400 };
const NODE = 'spiffe://example.org/neam-ca/node/n1';

describe('entries, join tokens, nodes and certificate records (SQLite)', () => {
  let store: Store;
  let cleanup: () => void;
  let path: string;
  beforeEach(() => {
    const t = tempDir('neam-entries-');
    cleanup = t.cleanup;
    path = join(t.dir, 'online.db');
    store = openOnlineStore(path);
    // A minimal intermediate row for certificate foreign keys.
    store.db.prepare("INSERT INTO online_intermediates (id, key_label, key_store, key_algorithm, spki, csr, window_start, window_end, batch, state, created_at) VALUES ('i1', 'k', 'token', 'ec-p256', x'00', x'00', 0, 1, 1, 'issued', 0)").run();
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  it('creates, lists, shows, updates and deletes entries', () => {
    const e = createEntry(store, { spiffeId: 'spiffe://example.org/ns/a/sa/b', parentId: NODE, selectors: ['k8s:ns:a'], dnsNames: ['b.a.svc'] }, LIMITS, 1000);
    expect(e.ttlSeconds).toBe(86_400);
    expect(getEntry(store.db, e.id)).toEqual(e);
    expect(listEntries(store.db, { parentId: NODE }).map((x) => x.id)).toEqual([e.id]);
    expect(listEntries(store.db, { parentId: 'spiffe://example.org/neam-ca/node/other' })).toEqual([]);
    const u = updateEntry(store, e.id, { ttlSeconds: 3600, dnsNames: [] }, LIMITS, 2000);
    expect(u).toMatchObject({ ttlSeconds: 3600, dnsNames: [], selectors: ['k8s:ns:a'], updatedAtMs: 2000 });
    expect(() => updateEntry(store, e.id, { spiffeId: 'spiffe://example.org/x' }, LIMITS, 3000)).toThrow(/cannot change/u);
    expect(() => createEntry(store, { spiffeId: 'spiffe://example.org/ns/a/sa/b', parentId: NODE }, LIMITS, 1000)).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_ENTRY_EXISTS' }));
    deleteEntry(store, e.id);
    expect(() => getEntry(store.db, e.id)).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_ENTRY_NOT_FOUND' }));
    expect(() => deleteEntry(store, e.id)).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_ENTRY_NOT_FOUND' }));
  });

  it('stores join tokens only as hashes; a token works once and not after it expires', () => {
    const t = createJoinToken(store, NODE, 600, 1000);
    const text = t.token.unsafeText();
    expect(text).toMatch(/^neamjt1_[A-Za-z0-9_-]{43}$/u);
    expect(listJoinTokens(store.db)).toEqual([expect.objectContaining({ hash: hashToken(text), nodeId: NODE, usedAtMs: null })]);
    store.close();
    expect(readFileSync(path).includes(Buffer.from(text))).toBe(false);
    expect(readFileSync(path).includes(Buffer.from(text.slice(8)))).toBe(false);
    store = openOnlineStore(path);
    expect(() => checkJoinToken(store.db, text, 1000 + 600_000)).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_TOKEN_EXPIRED' }));
    expect(checkJoinToken(store.db, text, 2000).nodeId).toBe(NODE);
    store.transaction((db) => consumeJoinToken(db, text, 2000, 'aa'));
    expect(() => store.transaction((db) => consumeJoinToken(db, text, 2000, 'bb'))).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_TOKEN_USED' }));
    expect(() => createJoinToken(store, NODE, 30, 0)).toThrow(/between 60 seconds and 7 days/u);
    expect(() => createJoinToken(store, NODE, 8 * 86_400, 0)).toThrow(/between 60 seconds and 7 days/u);
  });

  it('records an attestation atomically: a spent token, a node and its certificate, or nothing', () => {
    const t = createJoinToken(store, NODE, 600, 1000);
    const cert = { serial: '4a', issuerId: 'i1', kind: 'node' as const, spiffeId: NODE, entryId: null, nodeId: NODE, notBeforeMs: 0, notAfterMs: 10_000, issuedAtMs: 1000, spkiSha256: 'x', der: Buffer.from('x') };
    // A certificate for another node than the token's: nothing is written.
    expect(() => recordAttestation(store, t.token.unsafeText(), 1000, { ...cert, spiffeId: 'spiffe://example.org/neam-ca/node/n2' })).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_FORBIDDEN' }));
    expect(listJoinTokens(store.db)[0]?.usedAtMs).toBeNull();
    expect(listNodes(store.db)).toEqual([]);
    recordAttestation(store, t.token.unsafeText(), 1000, cert);
    expect(listJoinTokens(store.db)[0]).toMatchObject({ usedAtMs: 1000, usedBySerial: '4a' });
    expect(listNodes(store.db).map((n) => n.spiffeId)).toEqual([NODE]);
    expect(certStatus(store.db, '4a')?.kind).toBe('node');
    // Eviction revokes the node's certificates.
    expect(evictNode(store, NODE, 2000).revokedSerials).toEqual(['4a']);
    expect(listNodes(store.db)[0]?.evictedAtMs).toBe(2000);
    expect(() => evictNode(store, 'spiffe://example.org/neam-ca/node/ghost', 2000)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
  });

  it('revokes by serial or SPIFFE ID, idempotently, and lists unexpired revocations for the CRL', () => {
    const base = { issuerId: 'i1', kind: 'workload' as const, spiffeId: 'spiffe://example.org/w', entryId: null, nodeId: NODE, notBeforeMs: 0, issuedAtMs: 0, spkiSha256: 'x', der: Buffer.from('x') };
    store.transaction((db) => {
      insertCert(db, { ...base, serial: '41', notAfterMs: 100_000 });
      insertCert(db, { ...base, serial: '42', notAfterMs: 100_000 });
      insertCert(db, { ...base, serial: '43', notAfterMs: 10 });
    });
    expect(revoke(store, { serial: '0x41'.slice(2) }, 'keyCompromise', 50).revoked.map((r) => r.serial)).toEqual(['41']);
    expect(revoke(store, { serial: '41' }, 'keyCompromise', 60).alreadyRevoked).toEqual(['41']);
    const r = revoke(store, { spiffeId: 'spiffe://example.org/w' }, 'superseded', 70);
    expect(r.revoked.map((x) => x.serial)).toEqual(['42']);
    expect(r.alreadyRevoked).toEqual(['41']);
    expect(r.expired).toEqual(['43']);
    expect(revokedForIssuer(store.db, 'i1', 80)).toEqual([
      { serial: '41', revokedAtMs: 50, reason: 1 },
      { serial: '42', revokedAtMs: 70, reason: 4 },
    ]);
    expect(() => revoke(store, { serial: 'ff' }, 'unspecified', 0)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
    expect(() => normaliseSerial('xyz')).toThrow(expect.objectContaining({ code: 'ERR_INPUT_INVALID' }));
    expect(normaliseSerial('00:4A:BC')).toBe('4abc');
  });

  it('counts identities whose newest certificate expires within each horizon', () => {
    const base = { issuerId: 'i1', kind: 'workload' as const, entryId: null, nodeId: NODE, notBeforeMs: 0, issuedAtMs: 0, spkiSha256: 'x', der: Buffer.from('x') };
    const H = 3_600_000;
    store.transaction((db) => {
      insertCert(db, { ...base, serial: '51', spiffeId: 'spiffe://example.org/a', notAfterMs: 5 * H });
      insertCert(db, { ...base, serial: '52', spiffeId: 'spiffe://example.org/a', notAfterMs: 30 * H });
      insertCert(db, { ...base, serial: '53', spiffeId: 'spiffe://example.org/b', notAfterMs: 10 * H });
      insertCert(db, { ...base, serial: '54', spiffeId: 'spiffe://example.org/c', notAfterMs: 20 * H });
    });
    expect(expiringIdentities(store.db, 0, [24 * H, 12 * H, 6 * H])).toEqual([2, 1, 0]);
  });
});
