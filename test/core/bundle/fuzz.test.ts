import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { createBundle, DEFAULT_LIMITS, importBundle, inspectBundle, readTar, verifyBundle, writeTar } from '../../../core/bundle/index.ts';
import { craft, istioPayload, issuancePayload, issue, makeCrl, makeCsr, makeWorld, requestPayload, snapshot, type Side, type World } from './fixtures.ts';

/** mulberry32: a small seeded PRNG, so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x5eed_b0d1;
const ITERATIONS = 600;

describe('fuzz: randomly mutated valid bundles never crash the reader and are never imported', () => {
  let w: World;
  let receiver: Side;
  let bases: Buffer[];
  let csrA: { pem: string };
  let issuedA: string;

  beforeAll(() => {
    w = makeWorld();
    const dir = join(w.dir, 'csr');
    mkdirSync(dir);
    const csr = makeCsr(dir, 'intermediate-a');
    csrA = csr;
    const req = createBundle(w.online.state, {
      kind: 'intermediate-request',
      to: 'offline-root',
      files: requestPayload([{ name: 'intermediate-a', csrPem: csr.pem, notBefore: new Date(w.now.getTime() - 60_000), notAfter: new Date(w.now.getTime() + 100 * 86_400_000) }]),
      signer: w.online.signer,
      now: w.now,
    });
    const issued = issue(w.root, csr.pem, 'intermediate-a');
    issuedA = issued;
    bases = [craft(w.offline, w.online, issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'intermediate-a', pem: issued, csrPem: csr.pem }]), { kind: 'intermediate-issuance' }).bytes, craft(w.offline, w.online, istioPayload()).bytes];
    void req;
    receiver = w.reopen(w.online);
  });
  afterAll(() => w.close());

  it(`${ITERATIONS} mutations (seed ${SEED.toString(16)}): every one is refused with a bundle error code, and the store is unchanged`, () => {
    const rand = prng(SEED);
    const int = (n: number): number => Math.floor(rand() * n);
    const before = snapshot(receiver.store);
    const codes = new Map<string, number>();
    let unchanged = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = bases[int(2)] as Buffer;
      let b: Buffer = Buffer.from(base);
      const ops = 1 + int(3);
      for (let k = 0; k < ops; k++) {
        const op = int(9);
        if (op === 0) {
          // flip one byte anywhere
          const at = int(b.length);
          b[at] = (b[at] ?? 0) ^ (1 + int(255));
        } else if (op === 1) {
          // flip a byte inside a tar header
          const block = int(Math.max(1, Math.floor(b.length / 512) - 2)) * 512;
          const at = block + int(512);
          if (at < b.length) b[at] = (b[at] ?? 0) ^ (1 + int(255));
        } else if (op === 2) {
          b = b.subarray(0, int(b.length));
        } else if (op === 3) {
          const at = int(b.length + 1);
          const ins = Buffer.from(Array.from({ length: 1 + int(32) }, () => int(256)));
          b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        } else if (op === 4) {
          const at = int(b.length);
          b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(600)))]);
        } else if (op === 5) {
          // duplicate a 512-byte block
          const blocks = Math.floor(b.length / 512);
          const at = int(blocks) * 512;
          b = Buffer.concat([b.subarray(0, at + 512), b.subarray(at, at + 512), b.subarray(at + 512)]);
        } else if (op >= 7) {
          // mutate the content of one entry and repack it as a well-formed tar, so the mutation
          // reaches the CMS parser, the manifest checks and the payload checks
          let entries;
          try {
            entries = readTar(b, DEFAULT_LIMITS);
          } catch {
            continue;
          }
          const pick = entries[int(entries.length)];
          if (pick === undefined) continue;
          let data: Buffer = Buffer.from(pick.data);
          const how = int(3);
          if (how === 0 && data.length > 0) {
            const at = int(data.length);
            data[at] = (data[at] ?? 0) ^ (1 + int(255));
          } else if (how === 1) data = data.subarray(0, int(data.length));
          else data = Buffer.concat([data, Buffer.from([int(256)])]);
          b = writeTar(entries.map((e) => (e === pick ? { name: e.name, data } : e)));
        } else {
          // swap two 512-byte blocks
          const blocks = Math.floor(b.length / 512);
          const x = int(blocks) * 512;
          const y = int(blocks) * 512;
          if (x !== y) {
            const bx = Buffer.from(b.subarray(x, x + 512));
            b.copy(b, x, y, y + 512);
            bx.copy(b, y);
          }
        }
      }
      // The same bundle, or the same bundle followed by zero blocks (tar record padding, which the
      // format allows so that GNU tar's 10 KiB records read): not a mutation of its content.
      if (b.length >= base.length && b.subarray(0, base.length).equals(base) && b.subarray(base.length).every((x) => x === 0)) {
        unchanged++;
        continue;
      }
      let outcome: unknown = 'imported';
      try {
        importBundle(receiver.state, b, { now: new Date() });
      } catch (e) {
        outcome = e;
      }
      if (outcome === 'imported') {
        const diff: number[] = [];
        for (let j = 0; j < Math.max(b.length, base.length) && diff.length < 20; j++) if (b[j] !== base[j]) diff.push(j);
        throw new Error(`mutation ${i} was imported: length ${base.length} -> ${b.length}, first differences at ${diff.join(',')}`);
      }
      if (!isCoreError(outcome)) throw new Error(`mutation ${i} crashed: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`, { cause: outcome });
      const code = outcome.code;
      expect(code, `mutation ${i}: ${outcome.message}`).toMatch(/^ERR_BUNDLE_/u);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      // inspect and verify never crash either
      for (const fn of [() => inspectBundle(b, receiver.state), () => verifyBundle(b, receiver.state, { now: new Date() })]) {
        try {
          fn();
        } catch (e) {
          if (!isCoreError(e)) throw new Error(`mutation ${i} crashed inspect/verify: ${String(e)}`, { cause: e });
        }
      }
    }
    expect(snapshot(receiver.store)).toBe(before);
    // Different checks fired (the fuzzer reached past the archive layer).
    expect(codes.size).toBeGreaterThanOrEqual(4);
    expect(unchanged).toBeLessThan(ITERATIONS / 20);
    // Control: the unmutated bundle imports on the same receiver.
    expect(importBundle(receiver.state, bases[0] as Buffer, { now: new Date() }).alreadyImported).toBe(false);
  });

  it('payload mutations re-signed by the pinned sender (seed 0xc0ffee, 300 rounds) never crash the kind checks', () => {
    // An authentic sender can still send garbage: every kind parser must refuse it with a code.
    const rand = prng(0xc0ffee);
    const int = (n: number): number => Math.floor(rand() * n);
    const sources = [
      issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'intermediate-a', pem: issuedA, csrPem: csrA.pem }]).map((f) => ({ ...f, kind: 'intermediate-issuance' as const })),
      istioPayload({ 'payload/istio/cacerts.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: cacerts\ndata:\n  root-cert.pem: QUJD\n' }).map((f) => ({ ...f, kind: 'istio-manifests' as const })),
    ];
    const outcomes = new Map<string, number>();
    const fresh = w.reopen(w.online); // channel at 0: every round reaches the kind checks
    for (let i = 0; i < 300; i++) {
      const source = sources[int(sources.length)] ?? [];
      const kind = source[0]?.kind ?? 'istio-manifests';
      const target = int(source.length);
      const files = source.map((f, k) => {
        if (k !== target) return { path: f.path, data: f.data };
        let data: Buffer = Buffer.from(f.data);
        const how = int(4);
        if (how === 0 && data.length > 0) {
          const at = int(data.length);
          data[at] = (data[at] ?? 0) ^ (1 + int(255));
        } else if (how === 1) data = data.subarray(0, int(data.length + 1));
        else if (how === 2) {
          const at = int(data.length + 1);
          data = Buffer.concat([data.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), data.subarray(at)]);
        } else {
          const a = int(data.length + 1);
          data = Buffer.concat([data, data.subarray(a, Math.min(data.length, a + 1 + int(200)))]);
        }
        return { path: f.path, data };
      });
      const bytes = craft(w.offline, w.online, files, { kind }).bytes;
      let outcome: string;
      try {
        verifyBundle(bytes, fresh.state, { now: new Date() });
        outcome = 'accepted';
      } catch (e) {
        if (!isCoreError(e) || e.code === 'ERR_INTERNAL') throw new Error(`round ${i} (${kind}, ${files[target]?.path ?? ''}) crashed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        outcome = e.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // Only kind-level outcomes: the rounds reached the payload parsers.
    expect([...outcomes.keys()].sort()).toEqual(expect.arrayContaining(['ERR_BUNDLE_KIND_INVALID']));
    for (const k of outcomes.keys()) expect(['accepted', 'ERR_BUNDLE_KIND_INVALID', 'ERR_BUNDLE_CHAIN_INVALID', 'ERR_BUNDLE_UNSOLICITED_CERT', 'ERR_BUNDLE_PRIVATE_KEY', 'ERR_BUNDLE_IDENTITY_INVALID']).toContain(k);
  });
});
