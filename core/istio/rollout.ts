/**
 * @module istio/rollout
 * The words of the rollout plan: one README per numbered phase folder (what the step changes, how
 * to apply and verify it, how to roll it back) and the top-level README. Pure text from the
 * generated resources and the report; deterministic.
 *
 * Must never: include the clock or anything not derived from the inputs (same inputs, same bytes).
 */
import type { CacertsMaterial } from './cacerts.ts';
import type { IstioConfig } from './config.ts';
import type { MtlsException } from './exceptions.ts';
import type { Finding, Generated, Phase, Resource } from './generate.ts';

/** Facts the READMEs cite. */
export interface RolloutFacts {
  config: IstioConfig;
  exceptions: readonly MtlsException[];
  cacerts?: CacertsMaterial;
  /** "validated against …" line, or the warning that schema validation did not run. */
  schemaValidation: string;
  /** Files of each phase (relative to the phase folder). */
  files: Record<Phase, string[]>;
}

function count(rs: readonly Resource[], kind: string): number {
  return rs.filter((r) => r.kind === kind).length;
}

function exceptionTable(ex: readonly MtlsException[]): string {
  if (ex.length === 0) return 'None: every workload is STRICT.\n';
  return [
    '| id | scope | mode | approver | expires | justification |',
    '|---|---|---|---|---|---|',
    ...ex.map((e) => `| ${e.id} | ${e.namespace}${e.workload === undefined ? ' (namespace)' : `/${e.workload}`}${e.ports.length > 0 ? ` ports ${e.ports.join(', ')}` : ''} | ${e.mode} | ${e.approver} | ${e.expiresAt.toISOString()} | ${e.justification.replace(/\|/gu, '\\|').replace(/\n/gu, ' ')} |`),
    '',
  ].join('\n');
}

function findingsByKind(fs: readonly Finding[]): string {
  if (fs.length === 0) return 'None.\n';
  const kinds = new Map<string, number>();
  for (const f of fs) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  return `${[...kinds].map(([k, n]) => `- ${k}: ${n}`).join('\n')}\n\nEvery finding is listed with its subject in \`report.json\` (\`findings\`).\n`;
}

const APPLY = (phase: string): string => `kubectl apply -f ${phase}/`;

/** README of one phase folder. */
export function phaseReadme(phase: Phase, g: Generated, f: RolloutFacts): string {
  const rs = g.phases[phase];
  const root = f.config.rootNamespace;
  const files = f.files[phase].map((x) => `- \`${x}\``).join('\n');
  switch (phase) {
    case '00-plug-in-ca': {
      const c = f.cacerts as CacertsMaterial;
      return `# Step 0: plug NEAM CA's intermediate into istiod

**What it does.** Creates the Secret \`cacerts\` in \`${f.config.istiodNamespace}\` with \`${Object.keys(c.files).sort().join('`, `')}\`.
istiod signs workload certificates with \`ca-cert.pem\`, appends \`cert-chain.pem\` to every workload
certificate and distributes \`root-cert.pem\` as the mesh's trust anchors.

**It holds no private key.** istiod's signing key was generated on the cluster side together with
the CSR NEAM CA signed; it never left the cluster and is added to the Secret there (below).

| file | subject | not after | SHA-256 |
|---|---|---|---|
| ca-cert.pem | ${c.caCert.subject} | ${c.caCert.notAfter} | ${c.caCert.sha256} |
${c.chain.slice(1).map((x, i) => `| cert-chain.pem [${i + 2}] | ${x.subject} | ${x.notAfter} | ${x.sha256} |`).join('\n')}
${c.roots.map((x) => `| root-cert.pem | ${x.subject} | ${x.notAfter} | ${x.sha256} |`).join('\n')}
${c.crls.map((x) => `| ca-crl.pem | CRL of ${x.issuer} | next update ${x.nextUpdate ?? '-'} | |`).join('\n')}

Read the root fingerprint aloud against the ceremony transcript before applying.

## Apply

1. Keep the current Secret for rollback: \`kubectl -n ${f.config.istiodNamespace} get secret cacerts -o yaml > cacerts.backup.yaml\` (if it exists).
2. \`${APPLY(phase)}\`
3. Add istiod's key (kept on the cluster side since the CSR was made):
   \`kubectl -n ${f.config.istiodNamespace} patch secret cacerts --type merge -p "{\\"data\\":{\\"ca-key.pem\\":\\"$(base64 -w0 < ca-key.pem)\\"}}"\`.
   Istio 1.30 refuses an incomplete bundle ("incomplete signing CA bundle detected"), so do this before step 4.
4. \`kubectl -n ${f.config.istiodNamespace} rollout restart deployment/istiod\`, then restart the workloads
   namespace by namespace (\`kubectl -n NS rollout restart deployment\`) so they get certificates from the new chain.

## Verify

- istiod's log shows it loaded the plug-in certificates (no "incomplete signing CA bundle").
- \`istioctl proxy-config secret POD -n NS\` shows a chain ending at the root above.
- \`openssl verify -CAfile root-cert.pem -untrusted cert-chain.pem <a workload certificate>\` succeeds.

## Roll back

Re-apply \`cacerts.backup.yaml\` (or delete the Secret to return to istiod's self-signed CA), restart
istiod and the workloads. If the root changes, workloads trust only the roots they hold: keep both
roots in \`root-cert.pem\` through the transition (\`ISTIO_MULTIROOT_MESH=true\`).

## Files

${files}
`;
    }
    case '01-observe':
      return `# Step 1: observe (nothing is enforced)

**What it does.**
- \`Telemetry/mesh-access-logging\` in \`${root}\` turns on Envoy access logs mesh-wide. NEAM CA learns
  from JSON logs that carry the client identity: set meshConfig \`accessLogEncoding: JSON\` and add
  \`"downstream_peer_uri_san": "%DOWNSTREAM_PEER_URI_SAN%"\` to \`accessLogFormat\` (see docs/istio.md).
- \`PeerAuthentication/default\` in \`${root}\` states PERMISSIVE explicitly: Istio's default, no change.
- ${count(rs, 'AuthorizationPolicy')} AuthorizationPolicies with \`istio.io/dry-run: "true"\`: per namespace
  \`allow-nothing\`, least-privilege \`allow-*\` from the observed traffic and \`deny-admin-*\`. In dry-run
  Envoy evaluates them in shadow mode and only records what it would have done.

## Apply

\`${APPLY(phase)}\`

## Verify

Let it run through a full business cycle (batch jobs, month-end, failover tests). Then:
- shadow denials in the sidecars' stats: \`kubectl exec POD -c istio-proxy -- pilot-agent request GET stats | grep shadow_denied\`
  should stay at 0;
- replay fresh access logs against the generated policies:
  \`neam-ca istio replay --manifests OUT --inventory INVENTORY --access-log NEW.log\` must report nothing denied.
  If something is denied, regenerate with the new logs included.

## Roll back

\`kubectl delete -f ${phase}/\` removes the logging and the dry-run policies; the explicit PERMISSIVE
default equals Istio's default, so deleting it changes nothing.

## Files

${files}
`;
    case '02-permissive': {
      const pas = rs.filter((r) => r.kind === 'PeerAuthentication');
      return `# Step 2: mutual TLS for every call, authorization enforced, plaintext still accepted

**What it does.**
- ${count(rs, 'DestinationRule')} DestinationRules make clients use Istio mutual TLS (\`ISTIO_MUTUAL\`) to every service
  (DISABLE only where an approved exception disables mTLS).
- ${count(rs, 'Sidecar')} Sidecars limit each workload's egress configuration to the services it was observed calling plus
  ${f.config.essentialEgressHosts.map((h) => `\`${h}\``).join(', ')}. (A Sidecar narrows what the proxy knows; it is not a
  firewall: keep NetworkPolicies for that.)
- ${pas.length} exception PeerAuthentication(s):

${exceptionTable(f.exceptions)}
- The AuthorizationPolicies of step 1, now enforced (same names, without dry-run): per namespace
  \`allow-nothing\`, \`allow-*\` (observed principal → workload, ports, methods, paths) and \`deny-admin-*\`
  (${f.config.adminPaths.paths.map((p) => `\`${p}\``).join(', ')} on each workload's HTTP ports).

## Apply

Before: \`neam-ca istio test --manifests OUT --cases CASES --inventory INVENTORY\` passes, and the replay
of step 1 reports nothing denied.

\`${APPLY(phase)}\`

## Verify

- Access logs show no \`response_code_details\` starting with \`rbac_access_denied\` for legitimate callers.
- \`istio_requests_total{reporter="destination",connection_security_policy="none"}\` only for the clients
  listed as plaintext blockers in \`report.json\` (they break in step 3 unless excepted).

## Roll back

\`kubectl delete -f ${phase}/\` then \`kubectl apply -f 01-observe/\` (the policies return to dry-run).

## Files

${files}
`;
    }
    case '03-strict': {
      const soonest = [...f.exceptions].sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())[0];
      return `# Step 3: STRICT mutual TLS mesh-wide

**What it does.** \`PeerAuthentication/default\` in \`${root}\` becomes STRICT: every workload accepts only
mutual TLS from mesh identities. The exceptions of step 2 keep their scope PERMISSIVE/DISABLE until
they expire${soonest === undefined ? '' : ` (the first on ${soonest.expiresAt.toISOString()}, '${soonest.id}'): regenerate before then; an expired exception makes \`neam-ca istio generate\` refuse to run`}.

## Apply

Before: no plaintext blockers left in \`report.json\` (or each covered by an exception), the policy test
passes, and step 2 ran without unexpected denials.

\`${APPLY(phase)}\`

## Verify

- \`istio_requests_total{reporter="destination",connection_security_policy="none"}\` drops to zero outside
  the exceptions.
- Plaintext clients now fail at connection time (no HTTP status; the server closes the connection).

## Roll back

\`kubectl apply -f 01-observe/${root}.yaml\` sets the mesh default back to PERMISSIVE (it also
re-applies the access-logging Telemetry, which is unchanged).

## Files

${files}
`;
    }
  }
}

/** The top-level README. */
export function topReadme(g: Generated, f: RolloutFacts, phases: readonly Phase[]): string {
  const s = g.summary;
  return `# Istio security manifests (generated by NEAM CA)

Generated by \`neam-ca istio generate\` from the inventory and the observed traffic. Same inputs give
the same bytes. Trust domain \`${f.config.trustDomain}\`, root namespace \`${f.config.rootNamespace}\`.

- ${s.namespaces.length} namespaces (${s.namespaces.map((n) => `\`${n}\``).join(', ')}), ${s.workloads} workloads, ${s.services} services
- ${s.tuples} evidence tuples (principal, workload, port, method, path) from ${s.principals} principals
- ${s.exceptions} mTLS exception(s)

${f.schemaValidation}

## Rollout

Apply the numbered folders in order, each after the previous one proved itself; each README says how
to verify and how to roll back.

${phases.map((p) => `1. \`${p}/\``).join('\n')}

## Test before applying

\`\`\`
neam-ca istio test   --manifests . --cases CASES.yaml --inventory INVENTORY   # expected vs actual, exit 1 on mismatch
neam-ca istio replay --manifests . --inventory INVENTORY --access-log LOG   # every observed request must be allowed
neam-ca istio validate .                                                    # CRD schema, CEL rules, Istio's rules
\`\`\`

## Findings

${findingsByKind(g.findings)}
## Files

- \`report.json\`: inputs (SHA-256), parse statistics with malformed line numbers, findings, validation.
- \`evidence.jsonl\`: one evidence tuple per line, the reason behind every ALLOW rule.
`;
}
