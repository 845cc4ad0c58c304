/**
 * @module istio/cel
 * A small interpreter for the subset of CEL (Common Expression Language) that Kubernetes
 * `x-kubernetes-validations` rules use in Istio's CRDs (1.30): literals, `self`, field selection,
 * indexing, `has()`, the `all`/`exists`/`exists_one` macros, `size`, `contains`, `startsWith`,
 * `endsWith`, `matches`, `substring`, `int`, `duration`, the Kubernetes `url()`/`isURL()`/
 * `getScheme()` library, ternaries, `&&`/`||` with CEL's error-absorbing semantics, comparison,
 * `in`, and `+`/`-`. Every one of the 36 distinct rules in the CRD file parses and evaluates here
 * (`test/core/istio/cel.test.ts` proves it against the upstream conformance documents).
 *
 * Owns: parsing and evaluating one rule against one value. Must never: evaluate anything but the
 * expression it is given (no host access, no user-defined functions), or loop without bound (the
 * macros iterate over the finite input only).
 */

/** A CEL evaluation failure (no such key, type conversion, bad duration…). */
export class CelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelError';
  }
}

/** A CEL duration (nanoseconds as bigint). */
export class CelDuration {
  constructor(readonly nanos: bigint) {}
}

/** The result of Kubernetes' `url()`: the pieces Istio's rules read. */
export class CelUrl {
  constructor(
    readonly scheme: string,
    readonly host: string,
    readonly path: string,
  ) {}
}

type Value = null | boolean | number | string | CelDuration | CelUrl | Value[] | { [k: string]: Value } | undefined;

type Node =
  | { t: 'lit'; v: Value }
  | { t: 'ident'; name: string }
  | { t: 'select'; obj: Node; field: string }
  | { t: 'index'; obj: Node; index: Node }
  | { t: 'call'; fn: string; target: Node | null; args: Node[] }
  | { t: 'unary'; op: '!' | '-'; arg: Node }
  | { t: 'binary'; op: string; left: Node; right: Node }
  | { t: 'cond'; test: Node; then: Node; else: Node }
  | { t: 'list'; items: Node[] }
  | { t: 'map'; entries: Array<[Node, Node]> }
  | { t: 'has'; obj: Node; field: string }
  | { t: 'macro'; kind: 'all' | 'exists' | 'exists_one'; target: Node; variable: string; body: Node };

type Tok = { k: 'num' | 'str' | 'id' | 'op' | 'eof'; v: string; pos: number };

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '?', ':', '(', ')', '[', ']', '{', '}', ',', '.', '+', '-', '*', '/', '%'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/u.test(c)) {
      const m = /^(?:0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)u?/u.exec(src.slice(i));
      const text = m?.[0] ?? c;
      out.push({ k: 'num', v: text, pos: i });
      i += text.length;
      continue;
    }
    if (/[A-Za-z_]/u.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/u.exec(src.slice(i));
      const text = m?.[0] ?? c;
      out.push({ k: 'id', v: text, pos: i });
      i += text.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') {
          const e = src[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '/': '/' };
          if (e === undefined || map[e] === undefined) throw new CelError(`unsupported escape at ${j}`);
          s += map[e];
          j += 2;
        } else {
          s += src[j];
          j++;
        }
      }
      if (j >= src.length) throw new CelError('unterminated string literal');
      out.push({ k: 'str', v: s, pos: i });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new CelError(`unexpected character '${c}' at ${i}`);
    out.push({ k: 'op', v: op, pos: i });
    i += op.length;
  }
  out.push({ k: 'eof', v: '', pos: src.length });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i] as Tok;
  }
  private next(): Tok {
    const t = this.toks[this.i] as Tok;
    if (t.k !== 'eof') this.i++;
    return t;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.k === 'op' && t.v === v;
  }
  private isId(v: string): boolean {
    const t = this.peek();
    return t.k === 'id' && t.v === v;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.k !== 'op' || t.v !== v) throw new CelError(`expected '${v}' at ${t.pos}`);
  }

  parse(): Node {
    const n = this.expr();
    if (this.peek().k !== 'eof') throw new CelError(`unexpected '${this.peek().v}' at ${this.peek().pos}`);
    return n;
  }

  private expr(): Node {
    const test = this.or();
    if (this.isOp('?')) {
      this.next();
      const then = this.or();
      this.expectOp(':');
      const els = this.expr();
      return { t: 'cond', test, then, else: els };
    }
    return test;
  }
  private or(): Node {
    let left = this.and();
    while (this.isOp('||')) {
      this.next();
      left = { t: 'binary', op: '||', left, right: this.and() };
    }
    return left;
  }
  private and(): Node {
    let left = this.rel();
    while (this.isOp('&&')) {
      this.next();
      left = { t: 'binary', op: '&&', left, right: this.rel() };
    }
    return left;
  }
  private rel(): Node {
    let left = this.add();
    for (;;) {
      const t = this.peek();
      if ((t.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) || (t.k === 'id' && t.v === 'in')) {
        this.next();
        left = { t: 'binary', op: t.v, left, right: this.add() };
      } else return left;
    }
  }
  private add(): Node {
    let left = this.mul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().v;
      left = { t: 'binary', op, left, right: this.mul() };
    }
    return left;
  }
  private mul(): Node {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().v;
      left = { t: 'binary', op, left, right: this.unary() };
    }
    return left;
  }
  private unary(): Node {
    if (this.isOp('!')) {
      this.next();
      return { t: 'unary', op: '!', arg: this.unary() };
    }
    if (this.isOp('-')) {
      this.next();
      return { t: 'unary', op: '-', arg: this.unary() };
    }
    return this.member();
  }
  private args(): Node[] {
    const args: Node[] = [];
    this.expectOp('(');
    if (!this.isOp(')')) {
      args.push(this.expr());
      while (this.isOp(',')) {
        this.next();
        args.push(this.expr());
      }
    }
    this.expectOp(')');
    return args;
  }
  private member(): Node {
    let n = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const id = this.next();
        if (id.k !== 'id') throw new CelError(`expected a field name at ${id.pos}`);
        if (this.isOp('(')) {
          if (id.v === 'all' || id.v === 'exists' || id.v === 'exists_one') {
            const args = this.args();
            const v = args[0];
            if (args.length !== 2 || v === undefined || v.t !== 'ident') throw new CelError(`${id.v}() takes a variable name and an expression`);
            n = { t: 'macro', kind: id.v, target: n, variable: v.name, body: args[1] as Node };
          } else n = { t: 'call', fn: id.v, target: n, args: this.args() };
        } else n = { t: 'select', obj: n, field: id.v };
      } else if (this.isOp('[')) {
        this.next();
        const index = this.expr();
        this.expectOp(']');
        n = { t: 'index', obj: n, index };
      } else return n;
    }
  }
  private primary(): Node {
    const t = this.next();
    if (t.k === 'num') {
      const text = t.v.replace(/u$/u, '');
      return { t: 'lit', v: Number(text) };
    }
    if (t.k === 'str') return { t: 'lit', v: t.v };
    if (t.k === 'id') {
      if (t.v === 'true') return { t: 'lit', v: true };
      if (t.v === 'false') return { t: 'lit', v: false };
      if (t.v === 'null') return { t: 'lit', v: null };
      if (this.isOp('(')) {
        if (t.v === 'has') {
          const args = this.args();
          const a = args[0];
          if (args.length !== 1 || a === undefined || a.t !== 'select') throw new CelError('has() takes one field selection');
          return { t: 'has', obj: a.obj, field: a.field };
        }
        return { t: 'call', fn: t.v, target: null, args: this.args() };
      }
      return { t: 'ident', name: t.v };
    }
    if (t.k === 'op' && t.v === '(') {
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (t.k === 'op' && t.v === '[') {
      const items: Node[] = [];
      if (!this.isOp(']')) {
        items.push(this.expr());
        while (this.isOp(',')) {
          this.next();
          if (this.isOp(']')) break;
          items.push(this.expr());
        }
      }
      this.expectOp(']');
      return { t: 'list', items };
    }
    if (t.k === 'op' && t.v === '{') {
      const entries: Array<[Node, Node]> = [];
      if (!this.isOp('}')) {
        do {
          if (this.isOp(',')) this.next();
          if (this.isOp('}')) break;
          const k = this.expr();
          this.expectOp(':');
          entries.push([k, this.expr()]);
        } while (this.isOp(','));
      }
      this.expectOp('}');
      return { t: 'map', entries };
    }
    if (this.isId('in')) throw new CelError(`unexpected 'in' at ${t.pos}`);
    throw new CelError(`unexpected '${t.v}' at ${t.pos}`);
  }
}

/** A parsed rule, ready to evaluate many times. */
export interface CelProgram {
  readonly source: string;
  /** True when the rule reads `oldSelf` (a transition rule: needs the previous object). */
  readonly transition: boolean;
  /** Evaluates with `self` bound to `value`. Throws {@link CelError} on evaluation errors. */
  evaluate(value: unknown): unknown;
}

const cache = new Map<string, CelProgram>();

/**
 * Parses a CEL rule (cached by source text).
 * @throws {CelError} when the rule uses syntax outside the supported subset.
 */
export function compileCel(source: string): CelProgram {
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const ast = new Parser(tokenize(source)).parse();
  const program: CelProgram = {
    source,
    transition: /\boldSelf\b/u.test(source),
    evaluate: (value) => evaluate(ast, new Map([['self', value as Value]])),
  };
  cache.set(source, program);
  return program;
}

function typeName(v: Value): string {
  if (v === null || v === undefined) return 'null_type';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'string') return 'string';
  if (v instanceof CelDuration) return 'google.protobuf.Duration';
  if (v instanceof CelUrl) return 'kubernetes.URL';
  if (Array.isArray(v)) return 'list';
  return 'map';
}

function isMap(v: Value): v is { [k: string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof CelDuration) && !(v instanceof CelUrl);
}

function equal(a: Value, b: Value): boolean {
  if (a instanceof CelDuration && b instanceof CelDuration) return a.nanos === b.nanos;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return a === b;
}

function compare(a: Value, b: Value, op: string): boolean {
  let c: number;
  if (typeof a === 'number' && typeof b === 'number') c = a < b ? -1 : a > b ? 1 : 0;
  else if (typeof a === 'string' && typeof b === 'string') c = a < b ? -1 : a > b ? 1 : 0;
  else if (a instanceof CelDuration && b instanceof CelDuration) c = a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
  else throw new CelError(`no such overload: ${typeName(a)} ${op} ${typeName(b)}`);
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

function size(v: Value): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CelError(`no such overload: size(${typeName(v)})`);
}

const DURATION_UNITS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, μs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/**
 * Parses a Go/CEL duration string (`300s`, `1h30m`, `1.5s`, `10ms`, `0`).
 * @throws {CelError} when the text is not a duration.
 */
export function parseDuration(text: string): CelDuration {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return new CelDuration(0n);
  if (s === '') throw new CelError(`invalid duration '${text}'`);
  let total = 0n;
  const re = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/u;
  while (s.length > 0) {
    const m = re.exec(s);
    if (m === null || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw new CelError(`invalid duration '${text}'`);
    const unit = DURATION_UNITS[m[3] as string] as bigint;
    const whole = BigInt(m[1] === '' ? '0' : (m[1] as string));
    let frac = 0n;
    if (m[2] !== undefined && m[2] !== '') {
      const digits = m[2].slice(0, 18);
      frac = (BigInt(digits) * unit) / 10n ** BigInt(digits.length);
    }
    total += whole * unit + frac;
    s = s.slice(m[0].length);
  }
  return new CelDuration(neg ? -total : total);
}

/**
 * Go's `url.ParseRequestURI` as Kubernetes' CEL `url()` uses it: an absolute URI (scheme ":" …)
 * or an absolute path; no fragment handling (a '#' stays in the text); invalid percent escapes and
 * control characters fail.
 */
function parseRequestUri(text: string): CelUrl | null {
  // eslint-disable-next-line no-control-regex -- Go rejects ASCII control characters in URLs
  if (text === '' || /[\x00-\x1f\x7f]/u.test(text)) return null;
  if (/%(?![0-9a-fA-F]{2})/u.test(text)) return null;
  let scheme = '';
  let rest = text;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/u.exec(text);
  if (m !== null) {
    scheme = (m[1] as string).toLowerCase();
    rest = text.slice(m[0].length);
  } else if (/^[0-9+.-]/u.test(text) && text.includes(':') && /^[^/]*:/u.test(text)) return null; // "missing protocol scheme"
  if (scheme === '' && !rest.startsWith('/')) return null;
  if (scheme !== '' && !rest.startsWith('/')) return new CelUrl(scheme, '', rest); // opaque
  let host = '';
  let path = rest;
  if (rest.startsWith('//')) {
    const end = rest.indexOf('/', 2);
    host = end < 0 ? rest.slice(2) : rest.slice(2, end);
    path = end < 0 ? '' : rest.slice(end);
    const hostPart = host.includes('@') ? host.slice(host.lastIndexOf('@') + 1) : host;
    if (/[^A-Za-z0-9.\-_~!$&'()*+,;=:[\]%]/u.test(hostPart)) return null;
    if (hostPart.includes('%') && !hostPart.startsWith('[')) return null;
  }
  return new CelUrl(scheme, host, path);
}

function call(fn: string, target: Value | undefined, args: Value[], hasTarget: boolean): Value {
  const str = (v: Value, what: string): string => {
    if (typeof v !== 'string') throw new CelError(`no such overload: ${what}(${typeName(v)})`);
    return v;
  };
  if (hasTarget) {
    switch (fn) {
      case 'size':
        return size(target);
      case 'contains':
        return str(target, 'contains').includes(str(args[0], 'contains'));
      case 'startsWith':
        return str(target, 'startsWith').startsWith(str(args[0], 'startsWith'));
      case 'endsWith':
        return str(target, 'endsWith').endsWith(str(args[0], 'endsWith'));
      case 'matches':
        return new RegExp(str(args[0], 'matches'), 'u').test(str(target, 'matches'));
      case 'substring': {
        const cps = [...str(target, 'substring')];
        const a = args[0];
        const b = args.length > 1 ? args[1] : cps.length;
        if (typeof a !== 'number' || typeof b !== 'number' || a < 0 || b > cps.length || a > b) throw new CelError(`index out of range: substring(${String(a)}, ${String(b)}) of a string of length ${cps.length}`);
        return cps.slice(a, b).join('');
      }
      case 'getScheme':
        if (!(target instanceof CelUrl)) throw new CelError(`no such overload: getScheme on ${typeName(target)}`);
        return target.scheme;
      case 'getHost':
        if (!(target instanceof CelUrl)) throw new CelError(`no such overload: getHost on ${typeName(target)}`);
        return target.host;
      default:
        throw new CelError(`unsupported function ${fn}()`);
    }
  }
  switch (fn) {
    case 'size':
      return size(args[0]);
    case 'int': {
      const v = args[0];
      if (typeof v === 'number') return Math.trunc(v);
      if (typeof v === 'string' && /^[-+]?[0-9]+$/u.test(v)) {
        const n = Number(v);
        if (Number.isSafeInteger(n)) return n;
        throw new CelError(`type conversion error from 'string' to 'int': out of range`);
      }
      throw new CelError(`type conversion error from '${typeName(v)}' to 'int'`);
    }
    case 'string':
      if (typeof args[0] === 'string') return args[0];
      if (typeof args[0] === 'number' || typeof args[0] === 'boolean') return String(args[0]);
      throw new CelError(`type conversion error from '${typeName(args[0])}' to 'string'`);
    case 'duration':
      return parseDuration(str(args[0], 'duration'));
    case 'url': {
      const u = parseRequestUri(str(args[0], 'url'));
      if (u === null) throw new CelError(`URL parse error during conversion from string: ${JSON.stringify(args[0])}`);
      return u;
    }
    case 'isURL':
      return parseRequestUri(str(args[0], 'isURL')) !== null;
    default:
      throw new CelError(`unsupported function ${fn}()`);
  }
}

function truthy(v: Value, op: string): boolean {
  if (typeof v !== 'boolean') throw new CelError(`no such overload: ${op} on ${typeName(v)}`);
  return v;
}

function evaluate(n: Node, env: Map<string, Value>): Value {
  switch (n.t) {
    case 'lit':
      return n.v;
    case 'ident': {
      if (!env.has(n.name)) throw new CelError(`undeclared reference to '${n.name}'`);
      return env.get(n.name);
    }
    case 'select': {
      const o = evaluate(n.obj, env);
      if (o instanceof CelUrl || !isMap(o)) throw new CelError(`type '${typeName(o)}' does not support field selection`);
      if (!(n.field in o) || o[n.field] === undefined) throw new CelError(`no such key: ${n.field}`);
      return o[n.field];
    }
    case 'index': {
      const o = evaluate(n.obj, env);
      const k = evaluate(n.index, env);
      if (Array.isArray(o) && typeof k === 'number') {
        if (k < 0 || k >= o.length) throw new CelError(`index out of range: ${k}`);
        return o[k];
      }
      if (isMap(o) && typeof k === 'string') {
        if (!(k in o)) throw new CelError(`no such key: ${k}`);
        return o[k];
      }
      throw new CelError(`no such overload: index ${typeName(o)}[${typeName(k)}]`);
    }
    case 'has': {
      const o = evaluate(n.obj, env);
      if (!isMap(o)) throw new CelError(`invalid type for has(): ${typeName(o)}`);
      const v = o[n.field];
      return v !== undefined && v !== null;
    }
    case 'call': {
      const target = n.target === null ? undefined : evaluate(n.target, env);
      return call(
        n.fn,
        target,
        n.args.map((a) => evaluate(a, env)),
        n.target !== null,
      );
    }
    case 'unary': {
      const v = evaluate(n.arg, env);
      if (n.op === '!') return !truthy(v, '!');
      if (typeof v !== 'number') throw new CelError(`no such overload: -${typeName(v)}`);
      return -v;
    }
    case 'cond':
      return truthy(evaluate(n.test, env), '?:') ? evaluate(n.then, env) : evaluate(n.else, env);
    case 'list':
      return n.items.map((i) => evaluate(i, env));
    case 'map': {
      const m: { [k: string]: Value } = {};
      for (const [k, v] of n.entries) {
        const key = evaluate(k, env);
        if (typeof key !== 'string') throw new CelError('only string map keys are supported');
        m[key] = evaluate(v, env);
      }
      return m;
    }
    case 'macro': {
      const t = evaluate(n.target, env);
      const items: Value[] = Array.isArray(t) ? t : isMap(t) ? Object.keys(t) : (() => {
        throw new CelError(`${n.kind}() needs a list or map, got ${typeName(t)}`);
      })();
      let count = 0;
      let firstError: CelError | undefined;
      for (const item of items) {
        const scope = new Map(env);
        scope.set(n.variable, item);
        let r: boolean;
        try {
          r = truthy(evaluate(n.body, scope), n.kind);
        } catch (e) {
          if (!(e instanceof CelError)) throw e;
          if (n.kind === 'exists_one') throw e;
          firstError ??= e;
          continue;
        }
        if (n.kind === 'all' && !r) return false;
        if (n.kind === 'exists' && r) return true;
        if (r) count++;
      }
      if (firstError !== undefined) throw firstError;
      return n.kind === 'all' ? true : n.kind === 'exists' ? false : count === 1;
    }
    case 'binary':
      return binary(n, env);
  }
}

function binary(n: Extract<Node, { t: 'binary' }>, env: Map<string, Value>): Value {
  if (n.op === '&&' || n.op === '||') {
    // CEL's commutative logic: an error on one side is absorbed when the other side decides.
    const decisive = n.op === '||';
    let leftErr: CelError | undefined;
    let left: boolean | undefined;
    try {
      left = truthy(evaluate(n.left, env), n.op);
      if (left === decisive) return decisive;
    } catch (e) {
      if (!(e instanceof CelError)) throw e;
      leftErr = e;
    }
    const right = truthy(evaluate(n.right, env), n.op);
    if (right === decisive) return decisive;
    if (leftErr !== undefined) throw leftErr;
    return !decisive;
  }
  const a = evaluate(n.left, env);
  const b = evaluate(n.right, env);
  switch (n.op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(a, b, n.op);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(a, x));
      if (isMap(b) && typeof a === 'string') return a in b;
      throw new CelError(`no such overload: ${typeName(a)} in ${typeName(b)}`);
    case '+':
      if (typeof a === 'number' && typeof b === 'number') return a + b;
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
      if (a instanceof CelDuration && b instanceof CelDuration) return new CelDuration(a.nanos + b.nanos);
      throw new CelError(`no such overload: ${typeName(a)} + ${typeName(b)}`);
    case '-':
      if (typeof a === 'number' && typeof b === 'number') return a - b;
      if (a instanceof CelDuration && b instanceof CelDuration) return new CelDuration(a.nanos - b.nanos);
      throw new CelError(`no such overload: ${typeName(a)} - ${typeName(b)}`);
    case '*':
    case '/':
    case '%':
      if (typeof a !== 'number' || typeof b !== 'number') throw new CelError(`no such overload: ${typeName(a)} ${n.op} ${typeName(b)}`);
      if (n.op === '*') return a * b;
      if (b === 0) throw new CelError(n.op === '/' ? 'division by zero' : 'modulus by zero');
      return n.op === '/' ? Math.trunc(a / b) : a % b;
    default:
      throw new CelError(`unsupported operator ${n.op}`);
  }
}

/** The CEL type name of a JSON value, as Kubernetes prints it in "Invalid value" messages. */
export function celTypeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
