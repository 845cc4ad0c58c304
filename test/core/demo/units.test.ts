/**
 * The demo's pure parts: the refusal to reuse an output folder, the answers files against the
 * shipped ceremony scripts' questions (a key the script no longer asks fails here; a question the
 * answers miss fails the demo test), the generated passphrases against the custodian passphrase
 * rules, and the summary text.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parseSite, planCeremony, parseScript, validateAnswers } from '../../../core/ceremony/index.ts';
import { intermediateAnswersYaml, rootAnswersYaml, siteYaml } from '../../../core/demo/answers.ts';
import { scriptAsks } from '../../../core/demo/ceremony.ts';
import { checkOutputFolder, CUSTODIANS, demoLayout, renderDemoSummary, type DemoReport } from '../../../core/demo/index.ts';
import { DEMO_TOOLS, requireTools } from '../../../core/demo/processes.ts';
import { demoPassphrase, demoPin, generateDemoSecrets } from '../../../core/demo/secrets.ts';
import { isCoreError } from '../../../core/errors.ts';
import { checkNewPassphrase } from '../../../core/quorum/passphrase.ts';
import { tempDir } from '../../helpers/softhsm.ts';

const REPO = join(import.meta.dirname, '../../..');

function questionsOf(script: string): ReturnType<typeof planCeremony>['questions'] {
  const path = join(REPO, 'ceremony-scripts', script);
  return planCeremony(parseScript(readFileSync(path), path)).questions;
}

describe('demo output folder', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const tmp = (): string => {
    const t = tempDir('neam-demo-unit-');
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('accepts a folder that does not exist, or an empty one', () => {
    const d = tmp();
    expect(() => checkOutputFolder(join(d, 'new'))).not.toThrow();
    expect(() => checkOutputFolder(d)).not.toThrow();
  });

  const refused: Array<{ field: string; make: (d: string) => string; says: RegExp }> = [
    { field: 'a folder with a file in it', make: (d) => (writeFileSync(join(d, 'x'), 'x'), d), says: /is not empty/u },
    { field: 'a folder with an empty sub-folder', make: (d) => (mkdirSync(join(d, 'logs')), d), says: /is not empty/u },
    { field: 'a file', make: (d) => (writeFileSync(join(d, 'f'), ''), join(d, 'f')), says: /is not a folder/u },
  ];
  for (const c of refused) {
    it(`refuses ${c.field}, naming it and --out`, () => {
      const target = c.make(tmp());
      try {
        checkOutputFolder(target);
        throw new Error('expected a refusal');
      } catch (e) {
        expect(isCoreError(e, 'ERR_DEMO_OUTPUT_EXISTS'), String(e)).toBe(true);
        expect((e as Error).message).toContain(target);
        expect((e as Error).message).toMatch(c.says);
        expect((e as Error).message).toContain('--out');
        expect((e as Error).message).toMatch(/never overwrites/u);
      }
    });
  }

  it('lays everything out under the output folder', () => {
    const l = demoLayout('/tmp/x/../demo');
    const all = JSON.stringify(l).match(/"\/[^"]*"/gu) ?? [];
    expect(all.length).toBeGreaterThan(30);
    for (const p of all) expect(p.startsWith('"/tmp/demo')).toBe(true);
  });
});

describe('demo tools', () => {
  it('finds the stock tools on PATH and names the package of a missing one', () => {
    expect(() => requireTools(DEMO_TOOLS)).not.toThrow();
    try {
      requireTools(['certtool', 'tar'], { PATH: '/nonexistent' });
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isCoreError(e, 'ERR_DEMO_TOOL_MISSING'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(/'certtool'.*'gnutls-bin'.*bin\/setup/u);
    }
  });
});

describe('demo answers for the shipped ceremony scripts', () => {
  const secrets = generateDemoSecrets(
    CUSTODIANS.map((c) => c.name),
    randomBytes,
  );
  const media = new Map(CUSTODIANS.map((c) => [c.name, `/media/${c.medium}`] as const));
  const site = parseSite(siteYaml({ modulePath: '/usr/lib/softhsm/libsofthsm2.so', outputDir: '/tmp/demo/offline/ca' }), 'site.yaml', '/tmp');
  const names = site.participants.map((p) => p.name);

  it('the site file lists the administrator, two witnesses and five custodians', () => {
    expect(site.participants.map((p) => `${p.name}:${p.roles.join('+')}`)).toEqual([
      'Alice Admin:administrator',
      'Wanda Witness:witness',
      'Walter Witness:witness',
      ...CUSTODIANS.map((c) => `${c.name}:custodian`),
    ]);
  });

  it('is a valid rehearsal answers file for root.yaml (every key one the script asks; the full run is the demo test)', () => {
    const soPin = scriptAsks(REPO, 'ceremony-scripts/root.yaml', 'token.so-pin') ? secrets.rootSoPin : undefined;
    const text = rootAnswersYaml({ media, passphrases: secrets.custodians, soPin, backup: ['/b/1', '/b/2'] });
    const v = validateAnswers(text, 'root answers', questionsOf('root.yaml'), { rehearsal: true, names });
    expect(v.ok ? [] : v.problems).toEqual([]);
    expect(text).toMatch(/^# DEMO ONLY/u);
    // A live ceremony refuses them: secrets and attestations come only from people on the day.
    expect(validateAnswers(text, 'root answers', questionsOf('root.yaml'), { rehearsal: false, names }).ok).toBe(false);
  });

  it('is a valid rehearsal answers file for intermediate.yaml with four requested intermediates', () => {
    const text = intermediateAnswersYaml({ media, passphrases: secrets.custodians, bundle: '/t/1.neambundle', peerCertificate: '/t/online.pem', peerFingerprint: 'ab'.repeat(32), intermediates: ['intermediate-a1', 'intermediate-b2', 'intermediate-c3', 'intermediate-d4'], backup: '/b/i' });
    const v = validateAnswers(text, 'intermediate answers', questionsOf('intermediate.yaml'), { rehearsal: true, names });
    expect(v.ok ? [] : v.problems).toEqual([]);
  });
});

describe('demo secrets', () => {
  it('generated passphrases meet the custodian passphrase rules and differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = demoPassphrase(randomBytes);
      const name = CUSTODIANS[i % CUSTODIANS.length]?.name ?? '';
      expect(() => checkNewPassphrase(p.clone(), p.clone(), name)).not.toThrow();
      expect(p.unsafeText().split(' ')).toHaveLength(6);
      seen.add(p.unsafeText());
    }
    expect(seen.size).toBe(50);
  });

  it('PINs are 24 URL-safe characters; wipe() wipes every secret', () => {
    expect(demoPin(randomBytes).unsafeText()).toMatch(/^[A-Za-z0-9_-]{24}$/u);
    const s = generateDemoSecrets(['A', 'B'], randomBytes);
    s.wipe();
    expect([...s.custodians.values(), s.rootSoPin, s.onlinePin, s.onlineSoPin, s.onlineTransfer, s.meshTransfer].every((x) => x.wiped)).toBe(true);
  });
});

describe('demo summary', () => {
  it('lists every stage with its time, the facts, the paths and the next commands', () => {
    const r: DemoReport = {
      ok: true,
      out: '/tmp/demo-out',
      stages: [
        { stage: 1, title: 'Root key ceremony (x): details', seconds: 12.34 },
        { stage: 2, title: 'Online CA initialised: details', seconds: 1 },
      ],
      totalSeconds: 13.3,
      paths: { logs: '/tmp/demo-out/logs' },
      facts: { 'root certificate SHA-256': 'ab'.repeat(32), serials: ['1', '2'] },
      processes: [],
      next: ['neam-ca status --home /tmp/demo-out/online-ca'],
    };
    const text = renderDemoSummary(r);
    expect(text).toContain('NEAM CA demo completed in 13.3 s');
    expect(text).toMatch(/\[1\]\s+12\.3 s {2}Root key ceremony \(x\)\n/u);
    expect(text).toMatch(/\[2\]\s+1\.0 s {2}Online CA initialised\n/u);
    expect(text).toContain(`root certificate SHA-256:  ${'ab'.repeat(32)}`);
    expect(text).toContain('serials:');
    expect(text).toContain('  logs:  /tmp/demo-out/logs');
    expect(text).toContain('  neam-ca status --home /tmp/demo-out/online-ca');
    expect(text).toContain('rm -rf /tmp/demo-out && npm run demo');
  });
});
