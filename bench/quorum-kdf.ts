/**
 * `npm run bench -- quorum-kdf`: the cost of unlocking one custodian file at the production scrypt
 * parameters (N = 2^17, r = 8, p = 1), against OpenSSL's scrypt (`openssl kdf SCRYPT`) deriving the
 * same key in the same run. The ratio shows our unlock is the KDF's cost and not more; the absolute
 * time is what a custodian waits and what an attacker pays per guess.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { DEFAULT_SCRYPT, openCustodianFile, QuorumEnrollment } from '../core/quorum/index.ts';
import { Secret } from '../core/util/secret.ts';
import type { Bench } from './bench.ts';

const PASSPHRASE = 'bench passphrase for custodians';

export const QUORUM_KDF_BENCH: Bench = {
  name: 'quorum-kdf',
  summary: 'unlock a custodian file (scrypt N=2^17 r=8 p=1 + AES-256-GCM) vs openssl kdf SCRYPT',
  async run(): Promise<void> {
    const e = await QuorumEnrollment.start({ ceremony: 'bench', threshold: 2, total: 2, now: new Date(), random: randomBytes });
    const file = await e.addCustodian({ name: 'bench', passphrase: Secret.fromString(PASSPHRASE), confirmation: Secret.fromString(PASSPHRASE) });
    e.abort();
    const rounds = 5;
    const ours: number[] = [];
    const peer: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      const opened = await openCustodianFile(file, Secret.fromString(PASSPHRASE), { share: true });
      ours.push(performance.now() - t);
      opened.share?.wipe();
      t = performance.now();
      execFileSync('openssl', ['kdf', '-keylen', '32', '-kdfopt', `hexpass:${Buffer.from(PASSPHRASE).toString('hex')}`, '-kdfopt', `hexsalt:${Buffer.from(file.kdf.salt, 'base64').toString('hex')}`, '-kdfopt', `n:${DEFAULT_SCRYPT.N}`, '-kdfopt', `r:${DEFAULT_SCRYPT.r}`, '-kdfopt', `p:${DEFAULT_SCRYPT.p}`, '-kdfopt', 'maxmem_bytes:1073741824', 'SCRYPT'], { stdio: ['ignore', 'ignore', 'inherit'] });
      peer.push(performance.now() - t);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    console.log(`  neam-ca unlock (scrypt + 2 x AES-GCM + P-256 key check): median ${median(ours).toFixed(0)} ms over ${rounds}`);
    console.log(`  openssl kdf SCRYPT (process included):                 median ${median(peer).toFixed(0)} ms over ${rounds}`);
    console.log(`  ratio neam-ca / openssl: ${(median(ours) / median(peer)).toFixed(2)}`);
  },
};
