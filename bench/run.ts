/**
 * `npm run bench -- [NAME…]`: runs benchmarks that compare NEAM CA with a peer tool in the same
 * run and print the ratio (never timed assertions in tests). Each benchmark file exports one
 * `Bench`; register it in the list below.
 */
import 'reflect-metadata';

import type { Bench } from './bench.ts';
import { ISSUANCE_BENCH } from './issuance.ts';
import { ISTIO_BENCH } from './istio.ts';
import { QUORUM_KDF_BENCH } from './quorum-kdf.ts';
import { STORM_BENCH } from './storm.ts';

const BENCHES: Bench[] = [
  STORM_BENCH,
  QUORUM_KDF_BENCH,
  ISSUANCE_BENCH,
  ISTIO_BENCH,
];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exitCode = 2;
} else {
  for (const b of BENCHES.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
    console.log(`== ${b.name}: ${b.summary}`);
    await b.run(process.argv.slice(2));
  }
}
