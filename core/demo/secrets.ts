/**
 * @module demo/secrets
 * The rehearsal secrets of the demo: custodian passphrases (PGP words), the online token's PINs and
 * the transfer key passphrases, generated from the caller's randomness. They are held in memory as
 * {@link Secret}s and written only into `DEMO-ONLY-secrets/` (mode 0700, files 0600), so that a
 * person exploring the demo's output can repeat a command (`neam-ca status --home …`,
 * `neam-ca ceremony status …`, `neam-ca quorum drill …`). That folder's README says loudly that a
 * real deployment never writes them down.
 *
 * Must never: print or log a secret, write one outside `DEMO-ONLY-secrets/`, or write one with a
 * mode other than 0600.
 */
import { mkdirSync } from 'node:fs';

import { PGP_EVEN_WORDS, PGP_ODD_WORDS } from '../quorum/words.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import { Secret } from '../util/secret.ts';
import type { DemoLayout } from './layout.ts';

/** Randomness source: `n` random bytes. */
export type RandomBytes = (n: number) => Buffer;

/**
 * A passphrase of six PGP words (48 bits, easy to type in a rehearsal), e.g.
 * `tracker Istanbul dogsled sympathy Aztec quantity`.
 */
export function demoPassphrase(random: RandomBytes): Secret {
  const b = random(6);
  const words = [...b].map((x, i) => (i % 2 === 0 ? PGP_EVEN_WORDS[x] : PGP_ODD_WORDS[x]) as string);
  b.fill(0);
  return Secret.fromString(words.join(' '));
}

/** A PIN of 24 URL-safe base64 characters (144 bits). */
export function demoPin(random: RandomBytes): Secret {
  const b = random(18);
  const s = Secret.fromString(b.toString('base64url'));
  b.fill(0);
  return s;
}

/** The secrets of one demo run. */
export interface DemoSecrets {
  /** Custodian display name → passphrase. */
  custodians: Map<string, Secret>;
  /** An SO PIN for root scripts that ask for one (current ones derive both PINs from the quorum). */
  rootSoPin: Secret;
  onlinePin: Secret;
  onlineSoPin: Secret;
  onlineTransfer: Secret;
  meshTransfer: Secret;
  wipe(): void;
}

/** Generates every secret of a run. */
export function generateDemoSecrets(custodianNames: readonly string[], random: RandomBytes): DemoSecrets {
  const custodians = new Map(custodianNames.map((n) => [n, demoPassphrase(random)] as const));
  const s: DemoSecrets = {
    custodians,
    rootSoPin: demoPin(random),
    onlinePin: demoPin(random),
    onlineSoPin: demoPin(random),
    onlineTransfer: demoPassphrase(random),
    meshTransfer: demoPassphrase(random),
    wipe() {
      for (const x of [...custodians.values(), s.rootSoPin, s.onlinePin, s.onlineSoPin, s.onlineTransfer, s.meshTransfer]) x.wipe();
    },
  };
  return s;
}

const README = `DEMO ONLY: REHEARSAL SECRETS. NEVER DO THIS IN PRODUCTION.

These files were written by 'neam-ca demo' so that you can repeat commands against the demo's
throwaway SoftHSM tokens and custodian files. In a real deployment none of them is ever written
down: each custodian types their own passphrase at the workstation (no echo, nobody watching), the
root token's PINs are derived from the quorum's activation secret that nobody knows, and the online CA's PIN and
transfer key passphrase come from the operator's secret store.

  root-answers.yaml, intermediate-answers.yaml
      the answers that drove the two ceremonies unattended (custodian passphrases, sign-offs,
      decisions); 'neam-ca ceremony validate SCRIPT --answers FILE --rehearsal' reads them.
      The root token has no PIN file: both its PINs are derived from the activation secret
      split among the custodians, so it opens only with three of their files and passphrases
  online-token.pin, online-token.so-pin
      PINs of the online CA's SoftHSM token (online-ca/softhsm); e.g.
      neam-ca status --home ../online-ca
      neam-ca serve --home ../online-ca --token neam-online --pin-file online-token.pin --listen 127.0.0.1:8443
  online-transfer.passphrase, mesh-transfer.passphrase
      passphrases of the transfer key files online-ca/transfer.key and mesh/transfer.key

Every file here is mode 0600 in a 0700 folder. Delete the whole demo folder when you are done.
`;

/** Creates `DEMO-ONLY-secrets/` (0700) with its README. */
export function createSecretsFolder(layout: DemoLayout): void {
  mkdirSync(layout.secrets.dir, { mode: 0o700 });
  writeFileExclusive(layout.secrets.readme, README, 0o600);
}

/** Writes one secret (exact bytes, no newline) to a new 0600 file. */
export function writeSecretFile(path: string, secret: Secret): void {
  secret.use((b) => writeFileExclusive(path, b, 0o600));
}

/** Writes a document holding secrets (an answers file) to a new 0600 file. */
export function writeSecretDocument(path: string, text: string): void {
  writeFileExclusive(path, text, 0o600);
}
