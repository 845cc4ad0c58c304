/**
 * `npm run bench -- [NAME…]`: runs benchmarks that compare NEAM CA with a peer tool in the same
 * run and print the ratio (never timed assertions in tests). Benchmarks register here as the
 * domains that need them land (issuance vs cfssl, Istio generation at scale).
 */
import { ISTIO_BENCH } from './istio.ts';

type Bench = { name: string; summary: string; run(args: string[]): Promise<void> };

const BENCHES: Bench[] = [ISTIO_BENCH];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (BENCHES.length === 0) {
  console.log('No benchmarks are registered yet.');
} else {
  for (const b of BENCHES.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
    console.log(`== ${b.name}: ${b.summary}`);
    await b.run(process.argv.slice(2));
  }
}
