/**
 * `npm run bench -- storm`: renewal storm of 10,000 workloads issued at the same moment, with and
 * without jitter, and through a 3 h server outage (the agent's rotation policy, simulated).
 */
import { DEFAULT_ROTATION } from '../core/agent/rotation.ts';
import type { Bench } from './bench.ts';
import { simulateStorm } from '../core/agent/storm.ts';

const H = 3_600_000;

/** Runs the storm simulation and prints the peaks and the outage result. */
export async function runStormBench(): Promise<void> {
  const base = { workloads: 10_000, lifetime: 24 * H, seed: 7 };
  const noJitter = simulateStorm({ ...base, policy: { ...DEFAULT_ROTATION, jitterFraction: 0 }, horizon: 20 * H });
  const jitter = simulateStorm({ ...base, policy: DEFAULT_ROTATION, horizon: 20 * H });
  const outage = simulateStorm({ ...base, policy: DEFAULT_ROTATION, downFrom: 18 * H, downUntil: 21 * H });
  console.log(`renewal requests, peak per second: no jitter ${noJitter.peakPerSecond}, with jitter ${jitter.peakPerSecond} (${(noJitter.peakPerSecond / Math.max(1, jitter.peakPerSecond)).toFixed(0)}x lower)`);
  console.log(`3 h outage from the first renewal: ${outage.requests} requests, ${outage.failures} failed, ${outage.expiries} expiries, smallest margin at renewal ${(outage.minMarginAtRenewal / H).toFixed(2)} h`);
  return Promise.resolve();
}

/** Registration for bench/run.ts. */
export const STORM_BENCH: Bench = { name: 'storm', summary: 'agent renewal storm: jitter spread and a 3 h outage (10,000 workloads)', run: runStormBench };
