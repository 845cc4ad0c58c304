/**
 * @module ceremony/strict-yaml
 * Strict YAML reading for the files people review: ceremony scripts, site files and answers files.
 * One document only; YAML 1.2 core schema (so `yes` stays a string); duplicate keys, aliases and
 * anchors, custom tags, non-string keys, invalid UTF-8 and oversized input are errors. Every
 * problem is reported at once with its dotted path and line number, and zod shape errors are
 * translated into sentences for the person at the desk, pointing at the offending line.
 *
 * Must never: stop at the first problem, accept a value the reviewer cannot see literally in the
 * file (aliases, merges, tags), or do I/O (callers read the bytes).
 */
import { createHash } from 'node:crypto';

import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode, type ParsedNode } from 'yaml';
import type { z } from 'zod';

import type { Problem } from '../errors.ts';

/** A path into a parsed value: object keys and array indices. */
export type ValuePath = ReadonlyArray<string | number>;

/** Dotted form of a path (`steps.3.params.label`); '' for the root. */
export function dotted(path: ValuePath): string {
  return path.map(String).join('.');
}

/** The result of reading a strict YAML file. */
export interface StrictYaml {
  /** The plain value (undefined when the text could not be parsed at all). */
  value: unknown;
  /** Syntax and strictness problems (empty when the file is well-formed). */
  problems: Problem[];
  /** SHA-256 (hex) of the exact bytes read. */
  sha256: string;
  /**
   * Line (1-based) of the node at `path`, or of its nearest existing ancestor. With `key`, the line
   * of the key itself (for unknown fields).
   */
  line(path: ValuePath, options?: { key?: boolean }): number | undefined;
}

/** Options for {@link parseStrictYaml}. */
export interface StrictYamlOptions {
  /** What the file is, for messages: `ceremony script`, `site file`, `answers file`. */
  what: string;
  /** Maximum size in bytes. */
  maxBytes: number;
}

const ALLOWED_TAGS = new Set(['tag:yaml.org,2002:str']);

/**
 * Parses one strict YAML document. Never throws for bad input: problems are returned.
 */
export function parseStrictYaml(input: string | Uint8Array, options: StrictYamlOptions): StrictYaml {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const none: StrictYaml = { value: undefined, problems: [], sha256, line: () => undefined };
  if (bytes.length > options.maxBytes) {
    none.problems.push({ path: '', message: `the ${options.what} is ${bytes.length} bytes, more than the ${options.maxBytes} allowed; this is not a ${options.what}` });
    return none;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    none.problems.push({ path: '', message: `the ${options.what} is not valid UTF-8 text` });
    return none;
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.includes('\0')) {
    none.problems.push({ path: '', message: `the ${options.what} contains NUL bytes; it is not a text file` });
    return none;
  }
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: false, prettyErrors: false, version: '1.2', schema: 'core', merge: false, strict: true });
  const lineOf = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : counter.linePos(offset).line);
  // parseAllDocuments returns an EmptyStream (length 0) for empty input.
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0) {
    none.problems.push({ path: '', message: `the ${options.what} is empty` });
    return none;
  }
  if (list.length > 1) {
    none.problems.push({ path: '', line: lineOf(list[1]!.range[0]), message: `the ${options.what} holds ${list.length} YAML documents (separated by '---'); it must be exactly one` });
  }
  const doc = list[0]!;
  const problems: Problem[] = [...none.problems];
  for (const e of doc.errors) {
    problems.push({ path: '', line: e.linePos?.[0].line, message: `YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/u, '')}` });
  }
  for (const w of doc.warnings) {
    problems.push({ path: '', line: w.linePos?.[0].line, message: `YAML: ${w.message.split('\n')[0]}` });
  }
  if (doc.errors.length > 0) return { ...none, problems };

  walk(doc.contents as YamlNode | null, [], lineOf, (path, message, offset) => problems.push({ path: dotted(path), line: lineOf(offset), message }));

  const line = (path: ValuePath, opts: { key?: boolean } = {}): number | undefined => {
    const found = locate(doc, path, opts.key === true);
    return lineOf(found);
  };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch {
    value = undefined;
  }
  if (value === null || value === undefined) {
    problems.push({ path: '', line: 1, message: `the ${options.what} is empty` });
  }
  return { value, problems, sha256, line };
}

/** Reports aliases, anchors, custom tags, non-string keys and duplicate keys, with paths. */
function walk(
  node: YamlNode | null,
  path: Array<string | number>,
  lineOf: (offset: number | undefined) => number | undefined,
  report: (path: ValuePath, message: string, offset: number | undefined) => void,
): void {
  if (node === null || node === undefined) return;
  if (isAlias(node)) {
    report(path, `aliases (*${node.source}) are not allowed: write the value out so reviewers see it literally`, node.range?.[0]);
    return;
  }
  const anyNode = node as YamlNode & { anchor?: string; tag?: string; range?: [number, number, number] };
  if (anyNode.anchor !== undefined) report(path, `anchors (&${anyNode.anchor}) are not allowed: write every value out literally`, anyNode.range?.[0]);
  if (anyNode.tag !== undefined && !ALLOWED_TAGS.has(anyNode.tag)) report(path, `the YAML tag '${anyNode.tag}' is not allowed`, anyNode.range?.[0]);
  if (isMap(node)) {
    const seen = new Map<string, number | undefined>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const keyRange = (keyNode as { range?: [number, number, number] } | null)?.range;
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        report(path, 'every key must be a plain string', keyRange?.[0]);
        continue;
      }
      const key = keyNode.value;
      if (seen.has(key)) {
        report([...path, key], `duplicate key '${key}' (first defined on line ${seen.get(key) ?? '?'}); each key may appear once`, keyRange?.[0]);
      } else {
        seen.set(key, lineOf(keyRange?.[0]));
      }
      walk(pair.value as YamlNode | null, [...path, key], lineOf, report);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as YamlNode | null, [...path, i], lineOf, report));
  }
}

/** Offset of the node at `path` (or of the key), falling back to the nearest ancestor. */
function locate(doc: Document.Parsed<ParsedNode>, path: ValuePath, wantKey: boolean): number | undefined {
  let node = doc.contents as YamlNode | null;
  let offset = (node as { range?: [number, number, number] } | null)?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (pair === undefined) return offset;
      const keyOff = (pair.key as { range?: [number, number, number] }).range?.[0];
      if (last && wantKey) return keyOff;
      node = pair.value as YamlNode | null;
      offset = (node as { range?: [number, number, number] } | null)?.range?.[0] ?? keyOff;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (item === undefined) return offset;
      node = item;
      offset = (item as { range?: [number, number, number] }).range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
  undefined: 'missing',
  null: 'empty (null)',
};

function received(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: ValuePath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** Known keys of the object schema found by following `path` inside `schema` (best effort). */
function knownKeys(schema: z.ZodType, path: ValuePath): string[] {
  let s: z.ZodType | undefined = schema;
  const unwrap = (t: z.ZodType | undefined): z.ZodType | undefined => {
    let cur = t;
    for (let guard = 0; cur !== undefined && guard < 10; guard++) {
      const def = (cur as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'readonly') cur = def.innerType;
      else if (def.type === 'pipe') cur = def.in;
      else break;
    }
    return cur;
  };
  for (const seg of path) {
    s = unwrap(s);
    if (s === undefined) return [];
    const def = (s as unknown as { def: { type: string; element?: z.ZodType; valueType?: z.ZodType } }).def;
    if (def.type === 'object') s = (s as unknown as { shape: Record<string, z.ZodType> }).shape[String(seg)];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return [];
  }
  s = unwrap(s);
  if (s === undefined) return [];
  const def = (s as unknown as { def: { type: string } }).def;
  return def.type === 'object' ? Object.keys((s as unknown as { shape: Record<string, unknown> }).shape) : [];
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** A hint naming the closest known key, or ''. */
export function suggestion(key: string, known: readonly string[]): string {
  const k0 = key.toLowerCase().replace(/_/gu, '-');
  const prefixed = known.filter((k) => k0.length >= 3 && (k.startsWith(k0) || k0.startsWith(k)));
  if (prefixed.length === 1) return ` (did you mean '${prefixed[0]}'?)`;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(key.toLowerCase().replace(/_/gu, '-'), k.toLowerCase());
    if (dd < bestD) {
      bestD = dd;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

/**
 * Validates `value` (at `base` inside the file) against a zod schema and returns every problem
 * with dotted path, line and a readable message.
 */
export function schemaProblems<T>(schema: z.ZodType<T>, value: unknown, yaml: Pick<StrictYaml, 'line'>, base: ValuePath = [], rootValue: unknown = value): { data?: T; problems: Problem[] } {
  const r = schema.safeParse(value);
  if (r.success) return { data: r.data, problems: [] };
  const problems: Problem[] = [];
  for (const issue of r.error.issues) {
    const rel = issue.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
    const path = [...base, ...rel];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, rel);
      for (const key of issue.keys) {
        problems.push({
          path: dotted([...path, key]),
          line: yaml.line([...path, key], { key: true }),
          message: `unknown field '${key}'${suggestion(key, known)}${known.length > 0 ? `; allowed here: ${known.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    const actual = valueAt(rootValue, path);
    let message: string;
    switch (issue.code) {
      case 'invalid_type':
        message = actual === undefined ? 'is required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected} (found ${received(actual)})`;
        break;
      case 'invalid_value':
        message = issue.values.length === 1 ? `must be ${String(issue.values[0])} (found ${received(actual)})` : `must be one of ${issue.values.map((v) => `'${String(v)}'`).join(', ')} (found ${received(actual)})`;
        break;
      case 'too_small':
        message =
          issue.origin === 'array'
            ? `needs at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}`
            : issue.origin === 'string'
              ? `must be at least ${String(issue.minimum)} character${issue.minimum === 1 ? '' : 's'} long`
              : `must be ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)} (found ${received(actual)})`;
        break;
      case 'too_big':
        message =
          issue.origin === 'array'
            ? `allows at most ${String(issue.maximum)} entries`
            : issue.origin === 'string'
              ? `must be at most ${String(issue.maximum)} characters long`
              : `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)} (found ${received(actual)})`;
        break;
      case 'invalid_format':
        message = issue.message.startsWith('Invalid') ? `has the wrong format (found ${received(actual)})` : issue.message;
        break;
      case 'invalid_union':
        message = `is not valid here (found ${received(actual)})`;
        break;
      default:
        message = issue.message;
    }
    problems.push({ path: dotted(path), line: yaml.line(path), message });
  }
  return { problems };
}
