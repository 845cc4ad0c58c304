/**
 * @module transcript/report
 * The printable record of a ceremony: one self-contained HTML document (no script, no external
 * resource of any kind, a Content-Security-Policy that allows only its own style block) with print
 * CSS for A4. It shows the verification status first, then participants and roles, steps with
 * start and finish times and sign-offs, every fingerprint large and in groups of four for reading
 * aloud, certificates, the closing signers, the full record log, anything that failed
 * verification (apart, marked untrusted), and lines for wet signatures. A rehearsal is marked on
 * every page. Pure: the caller passes the verification result and the generation time.
 *
 * Must never: emit text from a transcript without HTML-escaping it, reference anything outside
 * the document, or present lines after the first problem as verified.
 */
import { createHash } from 'node:crypto';

import type { SignerCheck } from './closing.ts';
import { GENESIS_PREV, type JsonValue, type TranscriptRecord } from './record.ts';
import { summarizeTranscript, type TranscriptSummary } from './summary.ts';
import type { TranscriptVerification } from './verify.ts';

/** Options for {@link renderReport}. */
export interface ReportOptions {
  /** When the report was generated (printed in the footer); the caller's clock. */
  generatedAt?: Date;
  /** File name of the transcript, shown in the header. */
  source?: string;
  /** Producer, e.g. `neam-ca 0.1.0`. */
  generator?: string;
  /** Fingerprints the verification was pinned to, shown so the reader knows what was checked. */
  pinned?: { transfer?: readonly string[]; witnesses?: readonly string[] };
  /** Extra blank wet-signature rows beyond the participants (default 2). */
  blankSignatureRows?: number;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/gu, (c) => ESC[c] as string);
}

const e = escapeHtml;

/** A SHA-256 as 16 groups of four hex digits (two rows of eight), for reading aloud. */
function fingerprintHtml(hex: string, cls = 'fp'): string {
  const groups = (hex.toLowerCase().match(/.{1,4}/gu) ?? []).map((g, i) => `<span class="g${i % 2 === 1 ? ' alt' : ''}">${e(g)}</span>`);
  const rows = [groups.slice(0, 8).join(' '), groups.slice(8).join(' ')].filter((r) => r !== '');
  return `<div class="${cls}">${rows.map((r) => `<div class="fprow">${r}</div>`).join('')}</div>`;
}

function short(hex: string | undefined): string {
  return hex === undefined ? '' : `${hex.slice(0, 8)}…${hex.slice(-8)}`;
}

function timeHtml(t: string | undefined): string {
  if (t === undefined) return '<span class="muted">—</span>';
  return `<time datetime="${e(t)}">${e(t.replace('T', ' ').replace(/\.\d{3}Z$/u, ' UTC'))}</time>`;
}

function duration(a: string | undefined, b: string | undefined): string {
  if (a === undefined || b === undefined) return '';
  const s = Math.round((Date.parse(b) - Date.parse(a)) / 1000);
  if (!Number.isFinite(s) || s < 0) return '';
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Data as indented JSON with very long strings shortened (the file is the complete record). */
function dataText(data: JsonValue): string {
  return JSON.stringify(
    data,
    (_k, v: unknown) => {
      if (typeof v === 'string' && v.length > 400) return `${v.slice(0, 160)}… (${v.length} characters, SHA-256 ${createHash('sha256').update(v).digest('hex')})`;
      return v;
    },
    1,
  );
}

function statusSection(v: TranscriptVerification, s: TranscriptSummary, options: ReportOptions): string {
  const cls = s.status === 'verified' ? 'ok' : s.status === 'open' ? 'open' : 'failed';
  const word = s.status === 'verified' ? 'VERIFIED' : s.status === 'open' ? 'INTACT, NOT CLOSED' : 'VERIFICATION FAILED';
  const pinnedTransfer = options.pinned?.transfer ?? [];
  const pinnedWitnesses = options.pinned?.witnesses ?? [];
  let explanation: string;
  if (s.status === 'verified') {
    explanation = `The hash chain is intact from record 1 to record ${v.records.length}, the transcript is closed, and all ${v.signers.length} closing signatures verify.`;
    explanation +=
      pinnedTransfer.length + pinnedWitnesses.length > 0
        ? ' The signing keys match the pinned fingerprints.'
        : ' No fingerprints were pinned: compare the signers’ fingerprints below with the ones read aloud and recorded at the ceremony.';
  } else explanation = v.problem === undefined ? 'The transcript did not verify.' : v.problem.message;
  const rows: Array<[string, string]> = [
    ['Ceremony', `<code>${e(s.ceremony)}</code>`],
    ['Transcript file', options.source === undefined ? '<span class="muted">—</span>' : `<code>${e(options.source)}</code>`],
    ['Records verified', `${v.records.length} of ${v.lines} line(s)${v.tornTail === undefined ? '' : `, plus an incomplete last line (${v.tornTail.bytes} bytes)`}`],
    ['Opened', timeHtml(s.opened)],
    ['Closed', s.closed === undefined ? '<span class="muted">not closed</span>' : `${timeHtml(s.closed)}${s.outcome === undefined ? '' : ` (${e(s.outcome)})`}`],
    ['Script', s.script === undefined ? '<span class="muted">—</span>' : `${e(s.script.name ?? '')}${s.script.sha256 === undefined ? '' : ` <span class="muted">SHA-256</span> <code>${e(s.script.sha256)}</code>`}`],
  ];
  return `<section id="status" class="status ${cls}">
<div class="status-word">${e(word)}${v.problem === undefined ? '' : ` <span class="code">${e(v.problem.code)}</span>`}</div>
<p class="status-text">${e(explanation)}</p>
<table class="facts">${rows.map(([k, val]) => `<tr><th scope="row">${e(k)}</th><td>${val}</td></tr>`).join('')}</table>
<div class="chain">
<div class="chain-item"><h3>Links to the previous ceremony</h3>${s.previousHead === undefined ? '<p class="muted">—</p>' : s.previousHead === GENESIS_PREV ? '<p>Genesis: this is the first ceremony of this CA (no previous transcript).</p>' : fingerprintHtml(s.previousHead)}</div>
<div class="chain-item"><h3>Head of this transcript${s.status === 'verified' ? '' : ' (last verified record)'}</h3>${v.head === undefined ? '<p class="muted">—</p>' : fingerprintHtml(v.head)}<p class="muted small">The next ceremony’s first record must carry this value.</p></div>
<div class="chain-item"><h3>SHA-256 of the transcript file</h3>${fingerprintHtml(v.fileSha256)}</div>
</div>
${v.warnings.length === 0 ? '' : `<ul class="warnings">${v.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>`}
</section>`;
}

function participantsSection(s: TranscriptSummary): string {
  if (s.participants.length === 0) return '';
  return `<section id="participants"><h2>Participants and roles</h2>
<table><thead><tr><th>Name</th><th>Role(s)</th><th>First recorded</th><th>Records</th><th>Signed the closing record</th></tr></thead><tbody>
${s.participants.map((p) => `<tr><td>${e(p.name)}</td><td>${p.roles.map((r) => `<span class="role">${e(r)}</span>`).join(' ')}</td><td>${timeHtml(p.firstSeen)}</td><td class="num">${p.records}</td><td>${p.signedClosing ? 'yes' : ''}</td></tr>`).join('\n')}
</tbody></table></section>`;
}

function stepsSection(s: TranscriptSummary): string {
  if (s.steps.length === 0) return '';
  return `<section id="steps"><h2>Steps</h2>
<table class="steps"><thead><tr><th>Step</th><th>Started</th><th>Finished</th><th>State</th><th>Signed off by</th><th>Outputs</th></tr></thead><tbody>
${s.steps
  .map(
    (st) => `<tr class="step-${e(st.state)}"><td><strong>${e(st.title ?? st.id)}</strong><br><code class="small">${e(st.id)}</code>${st.action === undefined ? '' : ` <span class="muted small">${e(st.action)}</span>`}</td>
<td>${timeHtml(st.started)}</td><td>${timeHtml(st.finished)}${st.started !== undefined && st.finished !== undefined ? `<br><span class="muted small">${e(duration(st.started, st.finished))}</span>` : ''}</td>
<td><span class="state ${e(st.state)}">${e(st.state)}</span>${st.note === undefined ? '' : `<br><span class="small">${e(st.note)}</span>`}</td>
<td>${st.signOffs.length === 0 ? '<span class="muted">none</span>' : st.signOffs.map((o) => `${e(o.name)} <span class="role">${e(o.role)}</span> <span class="muted small">${timeHtml(o.time)}</span>`).join('<br>')}</td>
<td>${st.outputs.map((o) => `${e(o.name)}${o.size === undefined ? '' : ` <span class="muted small">${o.size} bytes</span>`}${o.sha256 === undefined ? '' : `<br><code class="small">${e(short(o.sha256))}</code>`}`).join('<br>')}</td></tr>`,
  )
  .join('\n')}
</tbody></table></section>`;
}

function fingerprintsSection(s: TranscriptSummary): string {
  if (s.fingerprints.length === 0) return '';
  return `<section id="fingerprints"><h2>Fingerprints</h2>
<p class="small">Every SHA-256 value recorded in this transcript, in groups of four hexadecimal digits. Read each aloud group by group; the listener compares it with their own copy and ticks the box.</p>
${s.fingerprints
  .map(
    (f, i) => `<div class="fpblock"><div class="fphead"><span class="fpno">${i + 1}</span> <strong>${e(f.uses.find((u) => u.label !== undefined)?.label ?? f.uses[0]?.path ?? '')}</strong> <span class="muted">${e(f.kind)}</span></div>
${fingerprintHtml(f.value)}
<div class="fpuses small">${f.uses.map((u) => `record ${u.seq} · ${e(u.type)} · <code>${e(u.path)}</code>${u.label === undefined ? '' : ` (${e(u.label)})`}`).join('<br>')}</div>
<div class="tick small">☐ read aloud&nbsp;&nbsp; ☐ confirmed by ______________________</div></div>`,
  )
  .join('\n')}
</section>`;
}

function certificatesSection(s: TranscriptSummary): string {
  if (s.certificates.length === 0) return '';
  return `<section id="certificates"><h2>Certificates</h2>
${s.certificates
  .map(
    (c) => `<div class="cert"><table class="facts">
<tr><th scope="row">Subject</th><td><strong>${e(c.subject)}</strong></td></tr>
${c.issuer === undefined ? '' : `<tr><th scope="row">Issuer</th><td>${e(c.issuer)}</td></tr>`}
${c.serial === undefined ? '' : `<tr><th scope="row">Serial</th><td><code>${e(c.serial)}</code></td></tr>`}
${c.notBefore === undefined && c.notAfter === undefined ? '' : `<tr><th scope="row">Valid</th><td>${timeHtml(c.notBefore)} to ${timeHtml(c.notAfter)}</td></tr>`}
<tr><th scope="row">Recorded in</th><td>record ${c.seq} (${e(c.type)})</td></tr>
${c.sha256 === undefined ? '' : `<tr><th scope="row">SHA-256</th><td>${fingerprintHtml(c.sha256, 'fp fp-small')}</td></tr>`}
${c.spkiSha256 === undefined ? '' : `<tr><th scope="row">SHA-256 of public key</th><td>${fingerprintHtml(c.spkiSha256, 'fp fp-small')}</td></tr>`}
</table></div>`,
  )
  .join('\n')}
</section>`;
}

function signerStatus(sig: SignerCheck): string {
  const parts = [sig.signatureValid ? '<span class="good">signature valid</span>' : '<span class="bad">signature INVALID</span>'];
  if (sig.pinned === true) parts.push('<span class="good">pinned</span>');
  if (sig.pinned === false) parts.push('<span class="bad">NOT the pinned key</span>');
  if (sig.problem !== undefined) parts.push(`<span class="bad">${e(sig.problem)}</span>`);
  return parts.join(' · ');
}

function signersSection(v: TranscriptVerification): string {
  if (v.signers.length === 0) return '';
  return `<section id="signatures"><h2>Closing signatures</h2>
<p class="small">The closing record is signed by the offline transfer key (in the HSM) and co-signed by the witnesses’ approval keys. Each signature covers the closing record, which carries the hash of every record before it.</p>
${v.signers
  .map(
    (sig) => `<div class="signer"><div><strong>${e(sig.name)}</strong> <span class="role">${e(sig.kind === 'transfer' ? 'transfer key' : 'witness')}</span>${sig.role === sig.kind ? '' : ` <span class="role">${e(sig.role)}</span>`} <span class="muted small">${e(sig.algorithm)}</span></div>
<div class="small">${signerStatus(sig)}</div>
<div class="small muted">SHA-256 of public key (SPKI)</div>${fingerprintHtml(sig.spkiSha256)}
${sig.certificateSha256 === undefined ? '' : `<div class="small muted">SHA-256 of certificate${sig.certificate === undefined ? '' : ` (${e(sig.certificate.subject)})`}</div>${fingerprintHtml(sig.certificateSha256)}`}</div>`,
  )
  .join('\n')}
</section>`;
}

function logRow(r: TranscriptRecord, problemRecord: number | undefined): string {
  return `<tr class="${r.seq === problemRecord ? 'problem' : ''}"><td class="num">${r.seq}</td><td>${timeHtml(r.time)}</td><td>${e(r.actor)}<br><span class="role">${e(r.role)}</span></td><td><code>${e(r.type)}</code></td><td><pre>${e(dataText(r.data))}</pre></td></tr>`;
}

function logSection(v: TranscriptVerification): string {
  const d = v.problem?.details as { record?: unknown } | undefined;
  const problemRecord = typeof d?.record === 'number' && v.problem?.code === 'ERR_TRANSCRIPT_RECORD_CHANGED' ? d.record : undefined;
  return `<section id="log"><h2>Record log</h2>
<p class="small">Every verified record in order. Long values are shortened here (with their SHA-256); the transcript file is the complete record.</p>
<table class="log"><thead><tr><th>#</th><th>Time (UTC)</th><th>Actor</th><th>Type</th><th>Data</th></tr></thead><tbody>
${v.records.map((r) => logRow(r, problemRecord)).join('\n')}
</tbody></table></section>`;
}

function unverifiedSection(v: TranscriptVerification): string {
  if (v.unverified.length === 0) return '';
  return `<section id="unverified" class="untrusted"><h2>Lines that did not verify</h2>
<p>These lines follow the first problem. They are shown for investigation only and must not be relied on.</p>
<table class="log"><thead><tr><th>Line</th><th>Content</th></tr></thead><tbody>
${v.unverified.map((u) => `<tr><td class="num">${u.line}</td><td>${u.problem === undefined ? '' : `<div class="bad small">${e(u.problem)}</div>`}<pre>${e(u.text.length > 1200 ? `${u.text.slice(0, 1200)}…` : u.text)}</pre></td></tr>`).join('\n')}
</tbody></table></section>`;
}

function wetSignaturesSection(s: TranscriptSummary, blank: number): string {
  const people = s.participants.filter((p) => !(p.roles.length === 1 && p.roles[0] === 'system'));
  const row = (name: string, role: string): string => `<tr><td>${name}</td><td>${role}</td><td class="sigline"></td><td class="dateline"></td></tr>`;
  return `<section id="wet-signatures"><h2>Signatures</h2>
<p>By signing, I confirm that I took part in ceremony <code>${e(s.ceremony)}</code>${s.rehearsal ? ' (a REHEARSAL)' : ''} in the role shown, that the steps above took place as recorded, and that the fingerprints I heard read aloud match the ones printed in this record.</p>
<table class="wet"><thead><tr><th>Name</th><th>Role</th><th>Signature</th><th>Date</th></tr></thead><tbody>
${people.map((p) => row(e(p.name), p.roles.map(e).join(', '))).join('\n')}
${Array.from({ length: blank }, () => row('', '')).join('\n')}
</tbody></table></section>`;
}

const BASE_CSS = `
:root{--ink:#111;--muted:#555;--line:#bbb;--ok:#0a6b2d;--okbg:#e6f4ea;--warn:#8a5a00;--warnbg:#fff4d6;--bad:#a10000;--badbg:#fde8e8}
*{box-sizing:border-box}
html{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:10.5pt;color:var(--ink);background:#fff}
body{margin:0 auto;max-width:190mm;padding:8mm 0}
h1{font-size:19pt;margin:0 0 2mm}
h2{font-size:14pt;margin:8mm 0 3mm;border-bottom:1.5pt solid var(--ink);padding-bottom:1mm;break-after:avoid}
h3{font-size:10pt;margin:0 0 1mm}
code,pre,.fp{font-family:"DejaVu Sans Mono","Liberation Mono",monospace}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:8pt}
table{border-collapse:collapse;width:100%}
th,td{border:0.5pt solid var(--line);padding:1.5mm 2mm;text-align:left;vertical-align:top}
thead{display:table-header-group}
tr,.fpblock,.cert,.signer,.chain-item{break-inside:avoid}
.facts th{width:38mm;background:#f4f4f4}
.muted{color:var(--muted)}
.small{font-size:8.5pt}
.num{text-align:right}
.role{display:inline-block;border:0.5pt solid var(--muted);border-radius:2mm;padding:0 1.5mm;font-size:8pt}
.banner{border:2pt solid var(--bad);color:var(--bad);font-weight:bold;font-size:14pt;text-align:center;padding:2mm;margin:0 0 4mm}
.watermark{position:fixed;top:42%;left:0;right:0;text-align:center;font-size:88pt;font-weight:bold;color:rgba(190,0,0,0.10);transform:rotate(-32deg);z-index:0;pointer-events:none}
.status{border:2pt solid;padding:4mm;margin:4mm 0}
.status.ok{border-color:var(--ok);background:var(--okbg)}
.status.open{border-color:var(--warn);background:var(--warnbg)}
.status.failed{border-color:var(--bad);background:var(--badbg)}
.status-word{font-size:22pt;font-weight:bold;letter-spacing:0.5pt}
.status.ok .status-word{color:var(--ok)}
.status.open .status-word{color:var(--warn)}
.status.failed .status-word{color:var(--bad)}
.status .code{font-size:11pt;font-family:"DejaVu Sans Mono",monospace}
.status-text{font-size:11pt}
.status .facts{background:#fff;margin:2mm 0}
.chain{display:flex;flex-wrap:wrap;gap:3mm}
.chain-item{flex:1 1 100%;background:#fff;border:0.5pt solid var(--line);padding:2mm}
.fp{font-size:15pt;font-weight:bold;line-height:1.45;margin:1mm 0}
.fp-small{font-size:11pt}
.fp .g{padding:0 0.6mm}
.fp .g.alt{background:#ececec}
.fpblock{border:0.5pt solid var(--line);padding:2.5mm;margin:0 0 3mm}
.fpno{display:inline-block;min-width:7mm;font-weight:bold}
.fpuses{color:var(--muted);margin:1mm 0}
.tick{margin-top:1.5mm}
.cert,.signer{border:0.5pt solid var(--line);padding:2.5mm;margin:0 0 3mm}
.good{color:var(--ok);font-weight:bold}
.bad{color:var(--bad);font-weight:bold}
.state{font-weight:bold}
.state.completed{color:var(--ok)}
.state.failed{color:var(--bad)}
.state.started,.state.skipped{color:var(--warn)}
tr.problem td{background:var(--badbg)}
.untrusted{border:2pt dashed var(--bad);padding:3mm}
.log td:first-child{width:9mm}
.wet td{height:15mm}
.wet .sigline{width:70mm}
.wet .dateline{width:30mm}
.warnings{color:var(--warn)}
footer{margin-top:8mm;border-top:0.5pt solid var(--line);padding-top:2mm;font-size:8pt;color:var(--muted)}
@media print{
  body{max-width:none;padding:0}
  a{color:inherit;text-decoration:none}
  #log,#unverified{break-before:page}
  #wet-signatures{break-before:page}
}
`;

function pageCss(s: TranscriptSummary, head: string | undefined): string {
  // Only [A-Za-z0-9._:-] (ceremony id) and hex reach these CSS strings; nothing to escape.
  const id = s.ceremony.replace(/[^A-Za-z0-9._:-]/gu, '?');
  const top = s.rehearsal ? '@top-center{content:"REHEARSAL \\2014  NOT A PRODUCTION CEREMONY";color:#a10000;font-weight:bold;font-size:10pt}' : '';
  return `@page{size:A4;margin:16mm 13mm 17mm;${top}@bottom-left{content:"NEAM CA \\00B7  ceremony ${id} \\00B7  head ${head === undefined ? '-' : head.slice(0, 16)}\\2026";font-size:8pt;color:#555}@bottom-right{content:"page " counter(page) " of " counter(pages);font-size:8pt;color:#555}}`;
}

/**
 * Renders the printable report of a verified (or failed) transcript as one self-contained HTML
 * document. Pure; never throws for transcript content (everything is escaped).
 */
export function renderReport(v: TranscriptVerification, options: ReportOptions = {}): string {
  const s = summarizeTranscript(v);
  const css = `${BASE_CSS}${pageCss(s, v.head)}`;
  const cssHash = createHash('sha256').update(css).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${cssHash}'; img-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'`;
  const resumed =
    s.resumes.length === 0
      ? ''
      : `<p class="small">The ceremony was resumed ${s.resumes.length} time(s) after an interruption: ${s.resumes.map((r) => `record ${r.seq} at ${timeHtml(r.time)}${r.tornTail === undefined ? '' : ` (an incomplete line of ${r.tornTail.bytes} bytes was set aside as <code>${e(r.tornTail.savedAs)}</code>, SHA-256 <code>${e(short(r.tornTail.sha256))}</code>)`}`).join('; ')}.</p>`;
  const body = [
    s.rehearsal ? '<div class="watermark" aria-hidden="true">REHEARSAL</div>' : '',
    '<header>',
    s.rehearsal ? '<div class="banner" id="rehearsal-banner">REHEARSAL — every record of this ceremony is marked as rehearsal; nothing it produced is valid for production</div>' : '',
    `<h1>${e(s.title)}</h1>`,
    `<div class="muted">Ceremony transcript · <code>${e(s.ceremony)}</code>${options.source === undefined ? '' : ` · ${e(options.source)}`}</div>`,
    '</header>',
    statusSection(v, s, options),
    resumed,
    participantsSection(s),
    stepsSection(s),
    fingerprintsSection(s),
    certificatesSection(s),
    signersSection(v),
    logSection(v),
    unverifiedSection(v),
    wetSignaturesSection(s, options.blankSignatureRows ?? 2),
    `<footer>Generated ${options.generatedAt === undefined ? '' : `${e(options.generatedAt.toISOString())} `}by ${e(options.generator ?? 'NEAM CA')} from the transcript file${options.source === undefined ? '' : ` ${e(options.source)}`} (SHA-256 ${e(v.fileSha256)}). The transcript file is the authoritative record; verify it with <code>neam-ca transcript verify</code>.</footer>`,
  ]
    .filter((x) => x !== '')
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`${s.rehearsal ? 'REHEARSAL — ' : ''}${s.title} (${s.ceremony})`)}</title>
<style>${css}</style>
</head>
<body class="${s.rehearsal ? 'rehearsal' : 'production'} status-${s.status}">
${body}
</body>
</html>
`;
}
