/**
 * @module istio/paths
 * Request paths as Istio's authorization sees them: normalisation (query stripped, dot segments
 * removed, as Envoy's `normalize_path` does before RBAC), generalisation of observed paths into
 * AuthorizationPolicy path patterns (`/orders/123` → `/orders/{*}`), and matching of Istio's path
 * and string patterns (exact, `prefix*`, `*suffix`, `*`, `{*}`/`{**}` URI templates).
 *
 * Must never: produce a pattern that does not match the path it came from (every generalisation
 * is checked against its source and falls back to a safe form), or a pattern Istio rejects.
 */
import { pathTemplateError } from './semantic.ts';

/** RFC 3986 `pchar` as Envoy's URI template literal accepts it (Istio's `validLiteral`). */
const PCHAR = "[a-zA-Z0-9\\-._~%!$&'()+,;:@=]";
const LITERAL = new RegExp(`^${PCHAR}+$`, 'u');

/** Built-in patterns of path segments that are identifiers, not routes. */
const ID_PATTERNS: RegExp[] = [
  /^[0-9]+$/u, // numeric ids
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/u, // UUID
  /^[0-9a-fA-F]{16,}$/u, // hex digests, object ids
  /^(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}$/u, // long opaque tokens with digits and letters
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]+Z?)?$/u, // dates
  /^[^@/]+@[^@/]+\.[^@/]+$/u, // e-mail addresses
  /^[A-Za-z0-9_-]+[.-][0-9a-f]{8,}(?:\.[A-Za-z0-9]+)+$/u, // content-hashed assets (app.55a9b8c7.js)
];

/** Strips query and fragment and removes dot segments (RFC 3986 §5.2.4), as Envoy normalises. */
export function normalisePath(raw: string): string {
  let p = raw;
  const q = p.search(/[?#]/u);
  if (q >= 0) p = p.slice(0, q);
  if (!p.startsWith('/')) return p;
  if (!/(?:^|\/)\.\.?(?:\/|$)/u.test(p)) return p;
  const out: string[] = [];
  const segs = p.split('/').slice(1);
  segs.forEach((s, i) => {
    if (s === '.') {
      if (i === segs.length - 1) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === segs.length - 1) out.push('');
    } else out.push(s);
  });
  return `/${out.join('/')}`;
}

/** Options of {@link generalisePath}. */
export interface GeneraliseOptions {
  mode: 'generalise' | 'exact' | 'none';
  /** Extra whole-segment patterns treated as identifiers. */
  idPatterns: readonly RegExp[];
  maxLength: number;
}

/** Compiles the configured extra id patterns. */
export function compileIdPatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => new RegExp(`^(?:${p})$`, 'u'));
}

function isId(seg: string, extra: readonly RegExp[]): boolean {
  return ID_PATTERNS.some((r) => r.test(seg)) || extra.some((r) => r.test(seg));
}

/**
 * The AuthorizationPolicy path pattern for an observed path, or null when paths are not used
 * (`mode: none`) or the path is not an origin-form path (`*`, absolute URI, empty).
 */
export function generalisePath(raw: string, opts: GeneraliseOptions): string | null {
  if (opts.mode === 'none') return null;
  const path = normalisePath(raw);
  if (!path.startsWith('/')) return null;
  const segs = path.split('/').slice(1);
  if (path.length > opts.maxLength) {
    const first = segs[0] ?? '';
    return first !== '' && LITERAL.test(first) ? `/${first}/*` : '*';
  }
  let templated = false;
  const out = segs.map((s, i) => {
    const last = i === segs.length - 1;
    if (s === '' ) return s;
    // '*', '{' and '}' have meaning in Istio patterns; a segment holding them cannot stay literal.
    if (/[*{}]/u.test(s) || (opts.mode === 'generalise' && isId(s, opts.idPatterns)) || (!LITERAL.test(s) && !last && opts.mode === 'generalise')) {
      templated = true;
      return '{*}';
    }
    return s;
  });
  let candidate = `/${out.join('/')}`;
  if (templated) {
    // A template needs every literal segment to be a pchar run (empty inner segments, '//', and odd
    // characters make Istio reject it) and must match its source (Envoy's {*} takes pchar only):
    // otherwise fall back to the literal prefix before the first variable, as an Istio prefix match.
    const lastLiteral = out[out.length - 1] as string;
    const invalid = pathTemplateError(candidate) !== undefined || out.slice(0, -1).some((s) => s === '') || (lastLiteral !== '' && lastLiteral !== '{*}' && !LITERAL.test(lastLiteral));
    if (invalid || !matchPath(candidate, path)) {
      const lead: string[] = [];
      for (const s of out) {
        if (s === '{*}' || s === '' || !LITERAL.test(s)) break;
        lead.push(s);
      }
      candidate = lead.length > 0 ? `/${lead.join('/')}/*` : '*';
    }
  } else if (candidate.includes('*')) candidate = '*';
  return matchPath(candidate, path) ? candidate : '*';
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');
}

const templateCache = new Map<string, RegExp>();

function templateRegex(pattern: string): RegExp {
  const hit = templateCache.get(pattern);
  if (hit !== undefined) return hit;
  const segs = pattern.split('/');
  let re: string;
  if (pattern.endsWith('/{**}/')) {
    // Istio's documented example: `/foo/{**}/` matches /foo/bar/, /foo/bar/baz.txt and /foo// but not /foo/bar.
    const prefix = pattern.slice(0, -'/{**}/'.length);
    re = `^${templateBody(prefix.split('/'))}/[a-zA-Z0-9\\-._~%!$&'()+,;:@=/]*/${PCHAR}*$`;
  } else re = `^${templateBody(segs)}$`;
  const r = new RegExp(re, 'u');
  if (templateCache.size > 10_000) templateCache.clear();
  templateCache.set(pattern, r);
  return r;
}

function templateBody(segs: string[]): string {
  return segs
    .map((s) => (s === '{*}' ? `${PCHAR}+` : s === '{**}' ? "[a-zA-Z0-9\\-._~%!$&'()+,;:@=/]*" : escapeRe(s)))
    .join('/');
}

/**
 * Istio path matching of one pattern against a normalised path: `*` any; `prefix*`; `*suffix`;
 * `{*}` one segment and `{**}` any remainder (URI templates); otherwise exact.
 */
export function matchPath(pattern: string, path: string): boolean {
  if (pattern === '*') return true;
  if (pattern.includes('{*}') || pattern.includes('{**}')) return templateRegex(pattern).test(path);
  return matchString(pattern, path);
}

/**
 * Istio string matching (principals, namespaces, methods, hosts…): `*` matches any non-empty
 * value, a leading `*` a suffix, a trailing `*` a prefix; anything else exactly.
 */
export function matchString(pattern: string, value: string): boolean {
  if (pattern === '*') return value !== '';
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}
