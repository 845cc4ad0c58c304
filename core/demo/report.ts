/**
 * @module demo/report
 * The demo's closing summary for people: each stage with its duration, the total, the facts worth
 * reading (fingerprints, serials) and the paths to open next, with commands to try. Pure.
 *
 * Must never: show a secret (the report holds none).
 */
import type { DemoReport } from './run.ts';

/** Text of the final summary. */
export function renderDemoSummary(r: DemoReport): string {
  const lines = ['', `NEAM CA demo completed in ${r.totalSeconds.toFixed(1)} s`, ''];
  for (const s of r.stages) lines.push(`  [${s.stage}] ${s.seconds.toFixed(1).padStart(6)} s  ${s.title.split(':')[0] ?? s.title}`);
  lines.push('');
  const width = Math.max(...Object.keys(r.facts).map((k) => k.length), 0) + 2;
  for (const [k, v] of Object.entries(r.facts)) lines.push(`  ${`${k}:`.padEnd(width)} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  if (Object.keys(r.facts).length > 0) lines.push('');
  const pw = Math.max(...Object.keys(r.paths).map((k) => k.length), 0) + 2;
  for (const [k, v] of Object.entries(r.paths)) lines.push(`  ${`${k}:`.padEnd(pw)} ${v}`);
  if (r.next.length > 0) lines.push('', 'Explore it (docs/demo.md explains every folder):', ...r.next.map((c) => `  ${c}`));
  lines.push('', `Every process the demo started has been stopped. Run it again with: rm -rf ${r.out} && npm run demo`);
  return lines.join('\n');
}
