/**
 * @module ceremony/actions/backup-public-artefacts
 * Step action `backup-public-artefacts`: copies the public outputs of the ceremony so far
 * (certificates, public keys, CRLs) to one or more backup media, into a folder named after the
 * ceremony, with a `SHA256SUMS` file that `sha256sum -c` checks; every copy is read back and
 * compared before the step completes. Only files the ceremony recorded (with their digests) can be
 * copied, and only the ceremony folder's outputs, which never hold a secret.
 *
 * Must never: overwrite a file on a backup medium, or copy anything the ceremony did not record.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { z } from 'zod';

import { CoreError } from '../../errors.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import { outputName, sha256Hex } from './common.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';
import { CEREMONY_TYPES, type JsonObject } from '../types.ts';

const params = z.strictObject({
  files: z.array(outputName).min(1).max(200).optional(),
  copies: z.number().int().min(1).max(4).default(2),
});
type Params = z.infer<typeof params>;

function fileList(ctx: StepContext<Params>): Array<{ name: string; sha256: string }> {
  const recorded = ctx.recordedOutputs();
  const byName = new Map(recorded.map((o) => [o.name, o]));
  const names = ctx.params.files ?? recorded.map((o) => o.name);
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    throw new CoreError('ERR_CEREMONY_STEP_FAILED', `cannot back up ${unknown.join(', ')}: not recorded as outputs of an earlier step of this ceremony`);
  }
  return names.map((n) => ({ name: n, sha256: byName.get(n)!.sha256 }));
}

/** Copies (or completes an interrupted copy of) the files into `dest/<ceremony id>`. */
function copyTo(ctx: StepContext<Params>, dest: string, files: Array<{ name: string; sha256: string }>): JsonObject {
  const folder = join(dest, ctx.ceremony.id);
  try {
    mkdirSync(folder, { mode: 0o755 });
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw new CoreError('ERR_IO', `cannot create ${folder}: ${(e as { code?: string }).code ?? 'error'}`, { cause: e });
  }
  const sums = `${files.map((f) => `${f.sha256}  ${f.name}`).join('\n')}\n`;
  for (const [name, data, want] of [...files.map((f) => [f.name, readFileSync(ctx.files.path(f.name)), f.sha256] as const), ['SHA256SUMS', Buffer.from(sums), sha256Hex(sums)] as const]) {
    if (sha256Hex(data) !== want) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${ctx.files.path(name)} no longer matches the digest recorded when it was written; stop and investigate`);
    const target = join(folder, name);
    let exists: boolean;
    try {
      exists = statSync(target).isFile();
    } catch {
      exists = false;
    }
    if (exists) {
      // An earlier, interrupted attempt: the file must be exactly the same.
      if (sha256Hex(readFileSync(target)) !== want) throw new CoreError('ERR_CEREMONY_OUTPUT_EXISTS', `${target} exists with different content; backup files are never overwritten. Use another medium or move it away`);
    } else {
      writeFileExclusive(target, data, 0o444);
    }
    if (sha256Hex(readFileSync(target)) !== want) throw new CoreError('ERR_IO', `reading back ${target} gave different bytes; the medium is faulty`);
  }
  return { folder, files: files.length + 1 };
}

async function run(ctx: StepContext<Params>): Promise<StepOutcome> {
  const files = fileList(ctx);
  const copies: JsonObject[] = [];
  const used = new Set<string>();
  for (let i = 1; i <= ctx.params.copies; i++) {
    const dest = await ctx.io.ask({
      kind: 'text',
      key: ctx.key(`destination-${i}`),
      prompt: `Backup medium ${i} of ${ctx.params.copies}: folder to copy into: `,
      validate: (a) => {
        if (!isAbsolute(a)) return 'give an absolute path (the mounted medium)';
        if (used.has(a)) return 'each copy goes to a different medium';
        try {
          return statSync(a).isDirectory() ? undefined : `${a} is not a folder`;
        } catch {
          return `${a} does not exist; mount the medium first`;
        }
      },
    });
    used.add(dest);
    copies.push(copyTo(ctx, dest, files));
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Copied ${files.length} file(s) and SHA256SUMS to ${join(dest, ctx.ceremony.id)}; read back and verified.` });
  }
  return { result: { files: files.map((f) => ({ name: f.name, sha256: f.sha256 })), copies } };
}

/** `backup-public-artefacts`. */
export const backupPublicArtefacts: ActionDefinition<Params> = {
  summary: 'copy the public outputs so far to backup media with a SHA256SUMS file; read every copy back',
  ceremonyTypes: CEREMONY_TYPES,
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  check(p, ctx) {
    const earlier = new Set(ctx.outputsBefore);
    return (p.files ?? []).flatMap((f, i) => (earlier.has(f) ? [] : [{ path: `params.files.${i}`, message: `'${f}' is not an output of an earlier step; outputs before this step: ${[...earlier].join(', ') || 'none'}` }]));
  },
  questions: (p, step) => Array.from({ length: p.copies }, (_, i) => ({ key: ['steps', step.id, `destination-${i + 1}`], secret: false, attestation: false, description: `absolute folder on backup medium ${i + 1}` })),
  precondition: async (ctx) => {
    fileList(ctx);
  },
  execute: run,
  // Copying is idempotent: an interrupted copy is completed (identical files kept, others written).
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the backup is completed (files already copied are checked, not rewritten)' } : { kind: 'verified' }),
};
