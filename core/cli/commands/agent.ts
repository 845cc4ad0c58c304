/**
 * @module cli/commands/agent
 * `neam-ca agent run|attest|status`: the SVID agent on a workload node (docs/agent.md). `run` keeps
 * every workload's SVID fresh in the foreground until SIGINT/SIGTERM (JSON log lines on stderr);
 * `run --once` does one full sync (attest if needed, every workload delivered) and exits 0, or 1
 * with the reason; `attest` only attests the node with a join token; `status` reads the state
 * directory and the delivered files without contacting the CA (exit 1 when something needs a
 * person).
 *
 * Must never: take a join token as an argument (only a file), or print a key.
 */
import { resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import { Agent, readAgentStatus, type AgentStatusReport, type SyncReport } from '../../agent/agent.ts';
import { loadAgentConfig, parseDurationMs, type AgentConfig } from '../../agent/config.ts';
import { createLogger, jsonLineSink } from '../../log/logger.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';
import { table } from '../render.ts';

const CONFIG: Record<string, OptionSpec> = {
  config: { type: 'string', valueName: 'FILE', description: 'agent configuration (YAML or JSON; see docs/agent.md)' },
};
const TOKEN: Record<string, OptionSpec> = {
  'join-token-file': { type: 'string', valueName: 'FILE', description: "file holding a join token from 'neam-ca token create --out FILE' (overrides joinTokenFile)" },
};

function config(ctx: CommandContext): AgentConfig {
  const v = ctx.values['config'];
  if (typeof v !== 'string' || v === '') throw new CoreError('ERR_USAGE', '--config FILE (the agent configuration) is required');
  return loadAgentConfig(resolve(ctx.cwd, v));
}

function tokenFile(ctx: CommandContext, c: AgentConfig): AgentConfig {
  const v = ctx.values['join-token-file'];
  return typeof v === 'string' ? { ...c, joinTokenFile: resolve(ctx.cwd, v) } : c;
}

function agentLogger(ctx: CommandContext): ReturnType<typeof createLogger> {
  const level = ctx.values['log-level'];
  return createLogger({ level: level === 'debug' || level === 'warn' || level === 'error' ? level : 'info', sinks: [jsonLineSink(process.stderr)], scope: 'agent' });
}

/** Default time `run --once` waits for a full sync. */
const ONCE_TIMEOUT = '60s';

function onceTimeout(value: string): number {
  try {
    return parseDurationMs(value, '--timeout');
  } catch (e) {
    throw new CoreError('ERR_USAGE', (e as Error).message);
  }
}

function renderSync(r: SyncReport): string {
  const head = `Synced in ${(r.elapsedMs / 1000).toFixed(1)} s as ${r.nodeId} (trust domain ${r.trustDomain}); ${r.workloads.length} workload(s) hold a valid SVID.`;
  if (r.workloads.length === 0) return head;
  return `${head}\n\n${table(
    ['WORKLOAD', 'SPIFFE ID', 'SERIAL', 'VALID UNTIL', 'RENEWS AT', 'FILES'],
    r.workloads.map((w) => [w.name, w.spiffeId, w.serial, w.notAfter, w.renewAt, w.dir]),
  )}`;
}

const run: Command = {
  path: ['agent', 'run'],
  summary: 'run the SVID agent in the foreground (attest, deliver and rotate workload SVIDs); --once: one full sync, then exit',
  usage: '--config FILE [--join-token-file FILE] [--once [--timeout DURATION]]',
  description:
    "Attests with the join token on first start, then polls the CA for the entries this node is parent of, delivers each workload's key, certificate chain and bundle atomically under workloadsDir/NAME, renews at the configured fraction of the lifetime with backoff on failure, runs hooks, and stops cleanly on SIGINT/SIGTERM. Logs are JSON lines on stderr. With --once it stops as soon as the node is attested, one poll of the CA succeeded and every workload holds an unexpired SVID (hooks run): exit 0 with the list (--json for machines); exit 1 when that is not reached within --timeout (default 60s) or a failure needs a person (no usable join token, wrong trust anchors, permissions).",
  options: {
    ...CONFIG,
    ...TOKEN,
    once: { type: 'boolean', description: 'one full sync, then exit (0 when every workload holds a valid SVID)' },
    timeout: { type: 'string', valueName: 'DURATION', description: `with --once: give up after this long (e.g. 30s, 2m; default ${ONCE_TIMEOUT})` },
  },
  async run(ctx) {
    const once = ctx.values['once'] === true;
    const t = ctx.values['timeout'];
    if (t !== undefined && !once) throw new CoreError('ERR_USAGE', '--timeout applies to --once only');
    const timeoutMs = onceTimeout(typeof t === 'string' ? t : ONCE_TIMEOUT);
    if (once && timeoutMs < 1000) throw new CoreError('ERR_USAGE', '--timeout must be at least 1s');
    const c = tokenFile(ctx, config(ctx));
    const agent = Agent.open({ config: c, log: agentLogger(ctx) });
    ctx.out.status(`neam-ca agent: ${agent.attested ? `node ${agent.state.nodeId ?? ''}` : 'not attested yet'}, CA ${c.server}, workloads in ${c.workloadsDir}${once ? ' (one sync)' : ''}`);
    if (once) {
      const r = await agent.sync(ctx.signal, timeoutMs);
      ctx.out.result(r, () => renderSync(r));
      return 0;
    }
    await agent.run(ctx.signal);
    return 0;
  },
};

const attest: Command = {
  path: ['agent', 'attest'],
  summary: 'attest this node with a join token (first contact pins the trust anchors)',
  usage: '--config FILE [--join-token-file FILE]',
  description: 'Creates the node key (mode 0600 in stateDir), sends its CSR with the join token, checks and stores the node SVID and the trust bundle. Without --join-token-file, an agent that is already attested reports its node and does nothing.',
  options: { ...CONFIG, ...TOKEN },
  async run(ctx) {
    const c = tokenFile(ctx, config(ctx));
    const agent = Agent.open({ config: c, log: agentLogger(ctx) });
    if (agent.attested && typeof ctx.values['join-token-file'] !== 'string') {
      const s = agent.state;
      ctx.out.result({ nodeId: s.nodeId, trustDomain: s.trustDomain, alreadyAttested: true }, () => `Already attested as ${s.nodeId ?? ''}; give --join-token-file to attest again.`);
      return 0;
    }
    const r = await agent.attest();
    ctx.out.result(r, () => `Attested as ${r.nodeId} (trust domain ${r.trustDomain}); node SVID ${r.serial} valid until ${r.notAfter}.`);
    return 0;
  },
};

function renderStatus(s: AgentStatusReport): string {
  const lines = [
    `CA:        ${s.server}`,
    `Node:      ${s.nodeId ?? '(not attested)'}${s.node === null ? '' : `  serial ${s.node.serial}, valid until ${s.node.notAfter}, renews at ${s.node.renewAt} [${s.node.state}]`}`,
  ];
  if (s.nodeError !== null) lines.push(`           last error [${s.nodeError.code}] ${s.nodeError.message}`);
  lines.push(`Last poll: ${s.lastPoll === null ? 'never' : `${s.lastPoll.at} ${s.lastPoll.ok ? 'ok' : `failed [${s.lastPoll.error?.code ?? ''}] ${s.lastPoll.error?.message ?? ''}`}`}`);
  lines.push('');
  lines.push(
    table(
      ['WORKLOAD', 'SPIFFE ID', 'STATE', 'SERIAL', 'VALID UNTIL', 'RENEWS AT', 'LAST ERROR'],
      s.workloads.map((w) => [w.name, w.spiffeId, w.state + (w.filesMismatch ? ' (files differ)' : ''), w.serial ?? '-', w.notAfter ?? '-', w.renewAt ?? '-', w.lastError === null ? (w.hookError === null ? '' : `hook: [${w.hookError.code}]`) : `[${w.lastError.code}] ${w.lastError.message.slice(0, 120)}`]),
    ),
  );
  for (const p of s.entryProblems) lines.push(`entry ${p.entryId} (${p.spiffeId}): ${p.message}`);
  if (s.needsAttention) lines.push('', 'Needs attention: see the states and errors above.');
  return lines.join('\n');
}

const status: Command = {
  path: ['agent', 'status'],
  summary: "show the agent's node, workloads, schedules and last errors (exit 1 when something needs attention)",
  usage: '--config FILE',
  options: { ...CONFIG },
  run(ctx) {
    const c = config(ctx);
    const s = readAgentStatus(c, Date.now());
    ctx.out.result(s, () => renderStatus(s));
    return Promise.resolve(s.needsAttention ? 1 : 0);
  },
};

/** The agent's commands. */
export const AGENT_COMMANDS: Command[] = [run, attest, status];
