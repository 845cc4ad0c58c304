import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { ACTION_KINDS, ACTIONS, MAX_SCRIPT_BYTES, parseScript, planCeremony, validateScript } from '../../../core/ceremony/index.ts';

const ROOT = join(import.meta.dirname, '../../..');

/** A small valid script; every case below breaks one thing in it. Line numbers are noted. */
const BASE = `version: 1
ceremony-type: root
id: base
title: Base ceremony
roles:
  administrator:
    min: 1
  witness:
    min: 2
  custodian:
    min: 5
quorum:
  m: 3
  n: 5
  activation: token-pin
steps:
  - id: air-gap
    title: Air gap
    action: air-gap-check
    sign-off: [administrator, witness]
  - id: clock
    title: Clock
    action: clock-check
    params:
      max-skew-seconds: 60
  - id: init-token
    title: Token
    action: token-init
  - id: root-key
    title: Root key
    action: generate-key
    params:
      label: root-key
      algorithm: rsa-4096
    sign-off: [witness]
  - id: close
    title: Close
    action: close
    params:
      transfer-key-label: transfer
      co-signers: 0
`;

function replace(from: string, to: string): (s: string) => string {
  return (s) => {
    if (!s.includes(from)) throw new Error(`test bug: '${from}' not in the base script`);
    return s.replace(from, to);
  };
}

interface Case {
  /** The violated field (the case name, Boulder style). */
  name: string;
  mutate: (s: string) => string;
  /** Expected problems: dotted path, a message fragment, and the line when it matters. */
  expect: Array<{ path: string; message: string; line?: number }>;
}

const CASES: Case[] = [
  { name: 'version', mutate: replace('version: 1', 'version: 2'), expect: [{ path: 'version', message: 'must be 1 (found number 2)', line: 1 }] },
  { name: 'ceremony-type', mutate: replace('ceremony-type: root', 'ceremony-type: party'), expect: [{ path: 'ceremony-type', message: "must be one of 'root'", line: 2 }] },
  { name: 'id', mutate: replace('id: base', 'id: Base Ceremony'), expect: [{ path: 'id', message: 'lower-case', line: 3 }] },
  { name: 'title (missing)', mutate: replace('title: Base ceremony\n', ''), expect: [{ path: 'title', message: 'is required' }] },
  { name: 'unknown top-level key', mutate: replace('title: Base ceremony', 'title: Base ceremony\ntitel: typo'), expect: [{ path: 'titel', message: "unknown field 'titel' (did you mean 'title'?)", line: 5 }] },
  { name: 'duplicate key', mutate: replace('id: base', 'id: base\nid: again'), expect: [{ path: 'id', message: "duplicate key 'id' (first defined on line 3)", line: 4 }] },
  { name: 'roles.witness.min (negative)', mutate: replace('  witness:\n    min: 2', '  witness:\n    min: -1'), expect: [{ path: 'roles.witness.min', message: 'must be at least 0', line: 9 }] },
  { name: 'roles.witness.max below min', mutate: replace('  witness:\n    min: 2', '  witness:\n    min: 2\n    max: 1'), expect: [{ path: 'roles.witness.max', message: 'max (1) is less than min (2)', line: 10 }] },
  { name: 'roles.administrator (missing)', mutate: replace('  administrator:\n    min: 1\n', ''), expect: [{ path: 'roles', message: 'needs an administrator' }, { path: 'steps.0.sign-off.0', message: "role 'administrator' is not declared" }] },
  { name: 'roles name', mutate: replace('  custodian:\n    min: 5', '  Custodian:\n    min: 5'), expect: [{ path: 'roles.Custodian', message: 'role names are lower-case', line: 10 }] },
  { name: 'quorum.m > quorum.n', mutate: replace('  m: 3\n  n: 5', '  m: 4\n  n: 3'), expect: [{ path: 'quorum.m', message: 'the threshold M (4) is larger than the number of custodians N (3)', line: 13 }] },
  { name: 'quorum.m zero', mutate: replace('  m: 3', '  m: 0'), expect: [{ path: 'quorum.m', message: 'must be at least 1', line: 13 }] },
  { name: 'quorum.n (missing)', mutate: replace('  n: 5\n', ''), expect: [{ path: 'quorum.n', message: 'is required' }] },
  { name: 'quorum.activation', mutate: replace('activation: token-pin', 'activation: smartcard'), expect: [{ path: 'quorum.activation', message: "must be one of 'shares', 'token-pin'", line: 15 }] },
  { name: 'steps (empty)', mutate: (s) => s.slice(0, s.indexOf('steps:')) + 'steps: []\n', expect: [{ path: 'steps', message: 'needs at least 1 entry' }] },
  { name: 'steps.1.action unknown', mutate: replace('action: clock-check', 'action: clock-chek'), expect: [{ path: 'steps.1.action', message: "unknown action 'clock-chek' (did you mean 'clock-check'?)", line: 23 }] },
  { name: 'steps.0.sign-off role nobody holds', mutate: replace('sign-off: [administrator, witness]', 'sign-off: [administrator, auditor]'), expect: [{ path: 'steps.0.sign-off.1', message: "role 'auditor' is not declared under roles, so nobody holds it", line: 20 }] },
  { name: 'steps.0.sign-off role with min 0', mutate: (s) => replace('  witness:\n    min: 2', '  witness:\n    min: 0')(s), expect: [{ path: 'steps.0.sign-off.1', message: "role 'witness' has min 0", line: 20 }, { path: 'steps.3.sign-off.0', message: "role 'witness' has min 0", line: 35 }] },
  { name: 'steps.0.sign-off duplicate role', mutate: replace('sign-off: [administrator, witness]', 'sign-off: [witness, witness]'), expect: [{ path: 'steps.0.sign-off.1', message: 'listed twice' }] },
  { name: 'steps.2.id duplicate', mutate: replace('  - id: init-token', '  - id: clock'), expect: [{ path: 'steps.2.id', message: "duplicate step id 'clock' (also steps.1.id)", line: 26 }] },
  { name: 'steps.1.id format', mutate: replace('  - id: clock', '  - id: Clock_Check'), expect: [{ path: 'steps.1.id', message: 'lower-case letters', line: 21 }] },
  { name: 'steps.1.params.max-skew-seconds type', mutate: replace('max-skew-seconds: 60', 'max-skew-seconds: one minute'), expect: [{ path: 'steps.1.params.max-skew-seconds', message: 'must be a number', line: 25 }] },
  { name: 'steps.1.params unknown field', mutate: replace('max-skew-seconds: 60', 'max-skew-seconds: 60\n      max-skew: 30'), expect: [{ path: 'steps.1.params.max-skew', message: "unknown field 'max-skew' (did you mean 'max-skew-seconds'?)", line: 26 }] },
  { name: 'steps.3.params.label (missing)', mutate: replace('      label: root-key\n', ''), expect: [{ path: 'steps.3.params.label', message: 'is required' }] },
  { name: 'steps.3.params.algorithm', mutate: replace('algorithm: rsa-4096', 'algorithm: rsa-1024'), expect: [{ path: 'steps.3.params.algorithm', message: "must be one of 'rsa-2048'", line: 34 }] },
  { name: 'steps.3.params.public-key-file path', mutate: replace('algorithm: rsa-4096', 'algorithm: rsa-4096\n      public-key-file: ../escape.pem'), expect: [{ path: 'steps.3.params.public-key-file', message: 'plain file name', line: 35 }] },
  { name: 'steps.3.params reserved output name', mutate: replace('algorithm: rsa-4096', 'algorithm: rsa-4096\n      public-key-file: script.yaml'), expect: [{ path: 'steps.3.params', message: "'script.yaml' is a reserved name" }] },
  { name: 'steps.3.params not a mapping', mutate: replace('    params:\n      label: root-key\n      algorithm: rsa-4096', '    params: [root-key]'), expect: [{ path: 'steps.3.params', message: 'must be a mapping' }] },
  { name: 'steps.4.action close not last', mutate: (s) => `${s}  - id: after\n    title: After close\n    action: checkpoint\n`, expect: [{ path: 'steps.4.action', message: "'close' must be the last step", line: 38 }] },
  { name: 'steps.4.params.transfer-key-label (missing)', mutate: replace('      transfer-key-label: transfer\n', ''), expect: [{ path: 'steps.4.params.transfer-key-label', message: 'is required' }] },
  { name: 'steps.4.params.transfer-key-label not an EC key', mutate: replace('transfer-key-label: transfer', 'transfer-key-label: root-key'), expect: [{ path: 'steps.4.params.transfer-key-label', message: "the transfer key 'root-key' must be an EC key (it is rsa-4096 in steps.3)", line: 40 }] },
  { name: 'steps.4.params.co-signers', mutate: replace('co-signers: 0', 'co-signers: -1'), expect: [{ path: 'steps.4.params.co-signers', message: 'must be at least 0', line: 41 }] },
  { name: 'steps close missing', mutate: replace('  - id: close\n    title: Close\n    action: close\n    params:\n      transfer-key-label: transfer\n      co-signers: 0\n', ''), expect: [{ path: 'steps', message: "the last step must be a 'close' step" }] },
  {
    name: 'steps air-gap-check after the first token step',
    mutate: (s) => s.replace('  - id: air-gap\n    title: Air gap\n    action: air-gap-check\n    sign-off: [administrator, witness]\n', '').replace('  - id: close\n', '  - id: air-gap\n    title: Air gap\n    action: air-gap-check\n  - id: close\n'),
    expect: [{ path: 'steps.3.action', message: "'air-gap-check' must come before step 1 ('token-init')" }],
  },
  { name: 'steps clock-check missing', mutate: replace('  - id: clock\n    title: Clock\n    action: clock-check\n    params:\n      max-skew-seconds: 60\n', ''), expect: [{ path: 'steps', message: "every ceremony needs a 'clock-check' step", line: 16 }] },
  { name: 'steps.2.action not allowed in the ceremony type', mutate: replace('ceremony-type: root', 'ceremony-type: intermediate'), expect: [{ path: 'steps.2.action', message: "action 'token-init' is not allowed in a 'intermediate' ceremony" }, { path: 'steps.3.action', message: "'generate-key' is not allowed" }] },
  { name: 'steps token used before token-init', mutate: (s) => s.replace('  - id: init-token\n    title: Token\n    action: token-init\n', '').replace('  - id: close\n', '  - id: init-token\n    title: Token\n    action: token-init\n  - id: close\n'), expect: [{ path: 'steps.2.action', message: "'generate-key' uses the token, which is only initialised by a later token-init step" }] },
  { name: 'steps.3.params.label duplicate key label', mutate: replace('  - id: close\n', '  - id: again\n    title: Again\n    action: generate-key\n    params:\n      label: root-key\n      algorithm: ec-p256\n      public-key-file: again.pem\n  - id: close\n'), expect: [{ path: 'steps.4.params.label', message: "key label 'root-key' is also created by steps.3" }] },
  { name: 'steps output written twice', mutate: replace('  - id: close\n', '  - id: again\n    title: Again\n    action: generate-key\n    params:\n      label: other-key\n      algorithm: ec-p256\n      public-key-file: root-key.pub.pem\n  - id: close\n'), expect: [{ path: 'steps.4.params', message: "output 'root-key.pub.pem' is also written by steps.3" }] },
  {
    name: 'steps.4.params.key reference to an unknown step',
    mutate: replace('  - id: close\n', '  - id: cert\n    title: Cert\n    action: prepare-root-certificate\n    params:\n      key: rot-key\n      subject:\n        common-name: Root\n  - id: close\n'),
    expect: [{ path: 'steps.4.params.key', message: "no step has the id 'rot-key' (did you mean 'root-key'?)" }],
  },
  {
    name: 'steps.4.params.key reference to the wrong kind of step',
    mutate: replace('  - id: close\n', '  - id: cert\n    title: Cert\n    action: prepare-root-certificate\n    params:\n      key: clock\n      subject:\n        common-name: Root\n  - id: close\n'),
    expect: [{ path: 'steps.4.params.key', message: "step 'clock' is a 'clock-check' step; expected 'generate-key'" }],
  },
  {
    name: 'steps.2.params.key reference to a later step',
    mutate: replace('  - id: init-token\n', '  - id: cert\n    title: Cert\n    action: prepare-root-certificate\n    params:\n      key: root-key\n      subject:\n        common-name: Root\n  - id: init-token\n'),
    expect: [{ path: 'steps.2.params.key', message: "step 'root-key' (steps.4) does not come before this step" }],
  },
  {
    name: 'steps.2.action custodian-enrollment needs shares and all N custodians',
    mutate: (s) => replace('  custodian:\n    min: 5', '  custodian:\n    min: 4')(replace('  - id: init-token\n', '  - id: enroll\n    title: Enroll\n    action: custodian-enrollment\n  - id: init-token\n')(s)),
    expect: [
      { path: 'steps.2.action', message: "custodian enrollment needs quorum.activation 'shares'" },
      { path: 'steps.2.action', message: 'needs all 5 custodians (quorum.n), but roles.custodian.min is 4' },
    ],
  },
  {
    name: 'steps.2.action custodian-enrollment before token-init',
    mutate: (s) => replace('activation: token-pin', 'activation: shares')(replace('  - id: init-token\n', '  - id: enroll\n    title: Enroll\n    action: custodian-enrollment\n  - id: init-token\n')(s)),
    expect: [{ path: 'steps.2.action', message: 'custodian enrollment sets the PIN of the token initialised by an earlier token-init step' }],
  },
  { name: 'alias', mutate: replace('  witness:\n    min: 2', '  witness: &w\n    min: 2\n  auditor: *w'), expect: [{ path: 'roles.witness', message: 'anchors (&w) are not allowed' }, { path: 'roles.auditor', message: 'aliases (*w) are not allowed' }] },
  { name: 'custom tag', mutate: replace('title: Base ceremony', 'title: !secret Base ceremony'), expect: [{ path: 'title', message: "the YAML tag '!secret' is not allowed", line: 4 }] },
  { name: 'second document', mutate: (s) => `${s}---\nversion: 1\n`, expect: [{ path: '', message: 'holds 2 YAML documents' }] },
  { name: 'YAML syntax', mutate: replace('sign-off: [administrator, witness]', 'sign-off: [administrator, witness'), expect: [{ path: '', message: 'YAML syntax' }] },
  { name: 'not a mapping', mutate: () => '- just\n- a list\n', expect: [{ path: '', message: 'a ceremony script is a mapping' }] },
  { name: 'empty', mutate: () => '# nothing here\n', expect: [{ path: '', message: 'is empty' }] },
  { name: 'non-string key', mutate: replace('title: Base ceremony', 'title: Base ceremony\n1: one'), expect: [{ path: '', message: 'every key must be a plain string', line: 5 }] },
];

describe('validateScript: broken scripts are refused with every problem, its dotted path and line', () => {
  it('the base script is valid', () => {
    const v = validateScript(BASE, 'base.yaml');
    expect(v.ok ? [] : v.problems).toEqual([]);
  });

  for (const c of CASES) {
    it(c.name, () => {
      const text = c.mutate(BASE);
      const v = validateScript(text, 'broken.yaml');
      expect(v.ok, `expected problems for ${c.name}`).toBe(false);
      if (v.ok) return;
      for (const want of c.expect) {
        const found = v.problems.find((p) => p.path === want.path && p.message.includes(want.message));
        expect(found, `no problem at '${want.path}' containing "${want.message}"; got:\n${JSON.stringify(v.problems, null, 1)}`).toBeDefined();
        if (want.line !== undefined) expect(found!.line, `line of ${want.path}`).toBe(want.line);
      }
      // parseScript throws ERR_CEREMONY_SCRIPT_INVALID with the same problems in details and message.
      try {
        parseScript(text, 'broken.yaml');
        expect.unreachable('parseScript accepted a broken script');
      } catch (e) {
        expect(isCoreError(e, 'ERR_CEREMONY_SCRIPT_INVALID')).toBe(true);
        const err = e as { message: string; details: { problems: unknown[] } };
        expect(err.details.problems).toHaveLength(v.problems.length);
        expect(err.message).toContain(c.expect[0]!.path === '' ? '(root)' : c.expect[0]!.path);
      }
    });
  }

  it('reports every problem of a script at once, not only the first', () => {
    const text = [replace('version: 1', 'version: 3'), replace('  m: 3\n  n: 5', '  m: 6\n  n: 5'), replace('action: clock-check', 'action: clock'), replace('algorithm: rsa-4096', 'algorithm: dsa'), replace('title: Base ceremony', 'title: Base ceremony\nextra: 1')].reduce((s, f) => f(s), BASE);
    const v = validateScript(text, 'many.yaml');
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems.map((p) => p.path).sort()).toEqual(['extra', 'quorum.m', 'steps.1.action', 'steps.3.params.algorithm', 'version'].sort());
  });

  it('refuses invalid UTF-8, NUL bytes and oversized input', () => {
    const bad = validateScript(Buffer.concat([Buffer.from('version: 1\ntitle: '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]), 'x.yaml');
    expect(!bad.ok && bad.problems[0]!.message).toContain('not valid UTF-8');
    const nul = validateScript('version: 1\u0000\n', 'x.yaml');
    expect(!nul.ok && nul.problems[0]!.message).toContain('NUL');
    const big = `${BASE}# ${'x'.repeat(MAX_SCRIPT_BYTES)}\n`;
    const v = validateScript(big, 'big.yaml');
    expect(!v.ok && v.problems[0]!.message).toContain('more than the');
    try {
      parseScript(big, 'big.yaml');
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    }
  });

  it('never throws on hostile input (truncations and byte flips of a valid script)', () => {
    const bytes = Buffer.from(BASE);
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(bytes.subarray(0, rand(bytes.length + 1)));
      if (b.length > 0 && i % 2 === 0) b[rand(b.length)] = rand(256);
      const v = validateScript(b, 'fuzz.yaml');
      if (!v.ok) expect(v.problems.length).toBeGreaterThan(0);
    }
  });
});

describe('shipped ceremony scripts', () => {
  for (const name of ['root', 'intermediate', 'crl']) {
    it(`ceremony-scripts/${name}.yaml is valid`, () => {
      const s = parseScript(readFileSync(join(ROOT, 'ceremony-scripts', `${name}.yaml`)), `${name}.yaml`);
      expect(s.type).toBe(name);
      expect(s.quorum).toMatchObject({ m: 3, n: 5, activation: 'shares' });
      expect(s.steps[0]!.action).toBe('air-gap-check');
      expect(s.steps.at(-1)!.action).toBe('close');
    });
  }

  it('root.yaml has the steps the issue lists, in a crash-safe order', () => {
    const s = parseScript(readFileSync(join(ROOT, 'ceremony-scripts', 'root.yaml')), 'root.yaml');
    const actions = s.steps.map((x) => x.action);
    for (const a of ['air-gap-check', 'clock-check', 'custodian-enrollment', 'token-init', 'generate-key', 'prepare-root-certificate', 'root-certificate', 'transfer-certificate', 'prepare-crl', 'collect-approvals', 'sign-crl', 'backup-public-artefacts', 'close']) expect(actions).toContain(a);
    // Issue 4: the root certificate is signed only after a quorum approved its prepared bytes.
    const prep = actions.indexOf('prepare-root-certificate');
    expect(actions.slice(prep, prep + 3)).toEqual(['prepare-root-certificate', 'collect-approvals', 'root-certificate']);
    expect(s.steps[prep + 1]!.params).toMatchObject({ for: s.steps[prep]!.id });
    expect(s.steps[prep + 2]!.params).toMatchObject({ approvals: s.steps[prep + 1]!.id });
    // Enrollment right after token-init: the SO PIN sets the user PIN to the split secret, and can
    // do it again if the enrollment is interrupted.
    expect(actions.indexOf('custodian-enrollment')).toBe(actions.indexOf('token-init') + 1);
    const keys = s.steps.filter((x) => x.action === 'generate-key').map((x) => x.params as { algorithm: string });
    expect(keys.map((k) => k.algorithm)).toEqual(['rsa-4096', 'ec-p256']);
    const plan = planCeremony(s);
    expect(plan.steps[plan.pointOfNoReturn]!.step.id).toBe('root-crl-sign');
  });

  it('intermediate.yaml imports a request, reviews, activates, approves, signs, issues a CRL and exports', () => {
    const s = parseScript(readFileSync(join(ROOT, 'ceremony-scripts', 'intermediate.yaml')), 'intermediate.yaml');
    expect(s.steps.map((x) => x.action)).toEqual(['air-gap-check', 'clock-check', 'import-bundle', 'review-csr', 'quorum-activation', 'collect-approvals', 'sign-intermediate', 'prepare-crl', 'collect-approvals', 'sign-crl', 'export-bundle', 'backup-public-artefacts', 'close']);
    expect(planCeremony(s).steps[planCeremony(s).pointOfNoReturn]!.step.id).toBe('sign');
  });

  it('crl.yaml revokes an intermediate and signs a CRL', () => {
    const s = parseScript(readFileSync(join(ROOT, 'ceremony-scripts', 'crl.yaml')), 'crl.yaml');
    expect(s.steps.map((x) => x.action)).toContain('revoke');
    expect(s.steps.map((x) => x.action)).toContain('sign-crl');
  });
});

describe('action registry', () => {
  it('every action kind is complete and documented field by field', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'ceremony-scripts.md'), 'utf8');
    for (const kind of ACTION_KINDS) {
      const def = ACTIONS[kind];
      expect(typeof def.execute, kind).toBe('function');
      expect(typeof def.reconcile, kind).toBe('function');
      expect(typeof def.precondition, kind).toBe('function');
      expect(typeof def.pointOfNoReturn, kind).toBe('boolean');
      expect(def.ceremonyTypes.length, kind).toBeGreaterThan(0);
      expect(def.params.safeParse({ unexpected: 1 }).success, `${kind} params must be strict`).toBe(false);
      expect(doc, `docs/ceremony-scripts.md must document ${kind}`).toContain(`### \`${kind}\``);
    }
  });
});
