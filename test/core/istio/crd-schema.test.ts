import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

import { crds } from './helpers.ts';

type Doc = Record<string, unknown>;

function conformanceDocs(): Array<{ file: string; name: string; doc: Doc; err?: string }> {
  const dir = join(crds().file, '..', 'testdata');
  const out: Array<{ file: string; name: string; doc: Doc; err?: string }> = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const doc = d.toJS() as Doc | null;
      if (doc === null) continue;
      const err = doc['_err'] as string | undefined;
      delete doc['_err'];
      out.push({ file, name: String((doc['metadata'] as Doc | undefined)?.['name']), doc, ...(err === undefined ? {} : { err }) });
    }
  }
  return out;
}

describe('CRD schema validation (Istio 1.30 openAPIV3Schema + CEL) against the upstream conformance documents', () => {
  const docs = conformanceDocs();
  // istio/istio pkg/config/validation/testdata/crds: go-yaml reads the flow item `001:db8::` of
  // serviceentry-valid.yaml as a string; the yaml package (YAML 1.2) reads a mapping. The data, not
  // the validator, differs: the test asserts exactly that, so any other failure still fails.
  const yamlDifference = (d: { file: string; name: string; doc: Doc }): boolean => d.file === 'serviceentry-valid.yaml' && d.name === 'full' && typeof ((d.doc['spec'] as Doc)['addresses'] as unknown[])[1] === 'object';

  it('finds the 109 upstream documents (33 valid, 76 invalid)', () => {
    expect(docs.filter((d) => d.err === undefined)).toHaveLength(33);
    expect(docs.filter((d) => d.err !== undefined)).toHaveLength(76);
  });

  for (const d of docs.filter((x) => x.err === undefined)) {
    it(`accepts ${d.file} ${d.name}`, () => {
      const findings = crds().set.validate(d.doc);
      if (yamlDifference(d)) expect(findings.map((f) => f.path)).toContain('spec.addresses[1]');
      else expect(findings).toEqual([]);
    });
  }
  for (const d of docs.filter((x) => x.err !== undefined)) {
    it(`rejects ${d.file} ${d.name} with "${d.err}"`, () => {
      const findings = crds().set.validate(d.doc);
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.map((f) => f.message).join('\n')).toContain(d.err);
    });
  }

  it('rejects unknown fields (strict field validation), unknown kinds and unserved versions', () => {
    const set = crds().set;
    const pa = (spec: unknown, apiVersion = 'security.istio.io/v1'): Doc => ({ apiVersion, kind: 'PeerAuthentication', metadata: { name: 'x', namespace: 'ns' }, spec });
    expect(set.validate(pa({ mtls: { mode: 'STRICT', typo: 1 } })).map((f) => f.message)).toEqual([expect.stringContaining('unknown field "spec.mtls.typo"')]);
    expect(set.validate(pa({ mtls: { mode: 'STRICT' } }, 'security.istio.io/v2'))[0]?.message).toContain('not served');
    expect(set.validate({ apiVersion: 'security.istio.io/v1', kind: 'Frobnicator', metadata: {}, spec: {} })[0]?.message).toContain('not an Istio CRD kind');
    expect(set.validate(pa({ mtls: { mode: 'STRICT' } }))).toEqual([]);
  });
});

describe('all validation layers on the conformance documents of the kinds NEAM CA generates', () => {
  const ours = conformanceDocs().filter((d) => /^(authz|peerauth|destinationrule)-/u.test(d.file));
  it('covers AuthorizationPolicy, PeerAuthentication and DestinationRule documents', () => expect(ours.length).toBeGreaterThanOrEqual(15));
  for (const d of ours) {
    it(`${d.err === undefined ? 'accepts' : 'rejects'} ${d.file} ${d.name} (schema, CEL, Istio rules, lints)`, async () => {
      const { validateDocuments } = await import('../../../core/istio/index.ts');
      const errors = validateDocuments([{ file: d.file, line: 1, index: 0, value: { ...d.doc, metadata: { namespace: 'default', ...(d.doc['metadata'] as Doc) } } }], crds().set).filter((f) => f.severity === 'error');
      if (d.err === undefined) expect(errors).toEqual([]);
      else expect(errors.length).toBeGreaterThan(0);
    });
  }
});
