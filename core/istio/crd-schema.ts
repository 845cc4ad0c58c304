/**
 * @module istio/crd-schema
 * The first validation layer of an Istio resource, as the Kubernetes API server applies it: the
 * CRD's structural `openAPIV3Schema` (checked with ajv, with unknown fields rejected as
 * `kubectl apply --validate=strict` does) and its `x-kubernetes-validations` CEL rules (evaluated by
 * `cel.ts`), plus `x-kubernetes-list-type: map|set` uniqueness. Messages follow the API server's
 * wording (`spec.x: Required value`, `… in body should match …`, `Invalid value: "object": <rule
 * message>`) so the upstream conformance documents' expected messages can be matched.
 *
 * Owns: compiling the CRD file into per-(group, version, kind) validators. Must never: read files
 * (the caller passes the CRD text; `io.ts` locates it), or treat a kind it does not know as valid
 * (unknown kinds are reported, not skipped).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

import { CoreError } from '../errors.ts';
import { CelError, celTypeOf, compileCel } from './cel.ts';

type Schema = Record<string, unknown>;

/** One schema finding with the API server's field path (`spec.rules[0].from`). */
export interface SchemaFinding {
  /** `schema` (structural OpenAPI), `cel` (x-kubernetes-validations) or `list` (list-type uniqueness). */
  layer: 'schema' | 'cel' | 'list';
  path: string;
  message: string;
}

interface KindEntry {
  group: string;
  kind: string;
  plural: string;
  versions: Map<string, { served: boolean; schema: Schema; validate: ValidateFunction }>;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Returns a copy of a CRD schema prepared for ajv: descriptions dropped, and objects with declared
 * `properties` closed (`additionalProperties: false`) unless `x-kubernetes-preserve-unknown-fields`
 * — the API server's strict field validation.
 */
function prepare(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(prepare);
  if (!isObj(schema)) return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'description') continue;
    if (k === 'properties' && isObj(v)) out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, prepare(s)]));
    else out[k] = prepare(v);
  }
  if (isObj(out['properties']) && out['additionalProperties'] === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out['additionalProperties'] = false;
  return out;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
  const int = (min: number, max: number) => ({ type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= min && n <= max });
  ajv.addFormat('int32', int(-2147483648, 2147483647));
  ajv.addFormat('uint32', int(0, 4294967295));
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/u);
  return ajv;
}

/** API server field path of a JSON pointer, using the data to tell list indexes from map keys. */
function fieldPath(pointer: string, data: unknown): string {
  if (pointer === '') return '';
  let out = '';
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/gu, '/').replace(/~0/gu, '~');
    if (Array.isArray(cur)) {
      out += `[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      out += out === '' ? seg : `.${seg}`;
      cur = isObj(cur) ? cur[seg] : undefined;
    }
  }
  return out;
}

function valueAt(pointer: string, data: unknown): unknown {
  if (pointer === '') return data;
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/gu, '/').replace(/~0/gu, '~');
    cur = Array.isArray(cur) ? cur[Number(seg)] : isObj(cur) ? cur[seg] : undefined;
  }
  return cur;
}

function show(v: unknown): string {
  if (isObj(v) || Array.isArray(v)) return `"${celTypeOf(v)}"`;
  return JSON.stringify(v) ?? 'null';
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/** Turns ajv errors into API-server style findings; errors inside combinator branches are folded. */
function ajvFindings(errors: ErrorObject[], data: unknown, schemaRoot: unknown): SchemaFinding[] {
  const out: SchemaFinding[] = [];
  for (const e of errors) {
    if (/\/(?:oneOf|anyOf|allOf)\/\d+\/|\/not\//u.test(e.schemaPath)) continue;
    const path = fieldPath(e.instancePath, data);
    const value = valueAt(e.instancePath, data);
    const p = e.params as Record<string, unknown>;
    const at = path === '' ? '(root)' : path;
    let message: string;
    switch (e.keyword) {
      case 'required':
        out.push({ layer: 'schema', path: join(path, String(p['missingProperty'])), message: `${join(path, String(p['missingProperty']))}: Required value` });
        continue;
      case 'type':
        message = `${at}: Invalid value: "${celTypeOf(value)}": ${at} in body must be of type ${String(p['type'])}: "${celTypeOf(value)}"`;
        break;
      case 'enum':
        message = `${at}: Unsupported value: ${JSON.stringify(value)}: supported values: ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'pattern':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body should match '${String(p['pattern'])}'`;
        break;
      case 'minLength':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body should be at least ${String(p['limit'])} chars long`;
        break;
      case 'maxLength':
        message = `${at}: Too long: may not be longer than ${String(p['limit'])}`;
        break;
      case 'minimum':
      case 'exclusiveMinimum':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body should be greater than ${e.keyword === 'minimum' ? 'or equal to ' : ''}${String(p['limit'])}`;
        break;
      case 'maximum':
      case 'exclusiveMaximum':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body should be less than ${e.keyword === 'maximum' ? 'or equal to ' : ''}${String(p['limit'])}`;
        break;
      case 'minItems':
        message = `${at}: Invalid value: ${Array.isArray(value) ? value.length : 0}: ${at} in body should have at least ${String(p['limit'])} items`;
        break;
      case 'maxItems':
        message = `${at}: Too many: ${Array.isArray(value) ? value.length : 0}: must have at most ${String(p['limit'])} items`;
        break;
      case 'minProperties':
        message = `${at}: Invalid value: ${isObj(value) ? Object.keys(value).length : 0}: ${at} in body should have at least ${String(p['limit'])} properties`;
        break;
      case 'maxProperties':
        message = `${at}: Too many: ${isObj(value) ? Object.keys(value).length : 0}: must have at most ${String(p['limit'])} properties`;
        break;
      case 'additionalProperties': {
        const full = join(path, String(p['additionalProperty']));
        out.push({ layer: 'schema', path: full, message: `${full}: unknown field "${full}" (strict field validation rejects it; without it Kubernetes silently drops the field)` });
        continue;
      }
      case 'format':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body must be of type ${String(p['format'])}`;
        break;
      case 'oneOf': {
        const branches = schemaAt(schemaRoot, e.schemaPath);
        const fields = Array.isArray(branches) ? branches.flatMap((b) => (isObj(b) && Array.isArray(b['required']) ? (b['required'] as string[]) : [])) : [];
        message = fields.length > 0 ? `${at}: Invalid value: "object": only one of ${fields.join(', ')} may be set` : `${at}: Invalid value: ${show(value)}: ${at} in body must match exactly one schema`;
        break;
      }
      case 'anyOf':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body must match at least one schema`;
        break;
      case 'not':
        message = `${at}: Invalid value: ${show(value)}: ${at} in body must not match the schema`;
        break;
      default:
        message = `${at}: Invalid value: ${show(value)}: ${e.message ?? e.keyword}`;
    }
    out.push({ layer: 'schema', path, message });
  }
  return out;
}

function schemaAt(root: unknown, schemaPath: string): unknown {
  let cur: unknown = root;
  for (const seg of schemaPath.replace(/^#\//u, '').split('/')) {
    if (seg === '') continue;
    cur = Array.isArray(cur) ? cur[Number(seg)] : isObj(cur) ? cur[seg.replace(/~1/gu, '/').replace(/~0/gu, '~')] : undefined;
  }
  return cur;
}

/**
 * Walks data and schema together, evaluating `x-kubernetes-validations` and list-type uniqueness
 * at every node where the data is present.
 */
function celFindings(schema: unknown, value: unknown, path: string, out: SchemaFinding[]): void {
  if (!isObj(schema) || value === undefined) return;
  const at = path === '' ? '(root)' : path;
  const rules = schema['x-kubernetes-validations'];
  if (Array.isArray(rules) && value !== null) {
    for (const r of rules) {
      if (!isObj(r) || typeof r['rule'] !== 'string') continue;
      const program = compileCel(r['rule']);
      if (program.transition) continue; // needs oldSelf: only meaningful on update
      const msg = typeof r['message'] === 'string' ? r['message'] : `failed rule: ${r['rule']}`;
      try {
        const ok = program.evaluate(value);
        if (ok !== true) out.push({ layer: 'cel', path, message: `${at}: Invalid value: "${celTypeOf(value)}": ${msg}` });
      } catch (e) {
        if (!(e instanceof CelError)) throw e;
        out.push({ layer: 'cel', path, message: `${at}: Invalid value: "${celTypeOf(value)}": ${msg} (the rule could not be evaluated: ${e.message})` });
      }
    }
  }
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'map' || listType === 'set') {
      const keys = listType === 'map' && Array.isArray(schema['x-kubernetes-list-map-keys']) ? (schema['x-kubernetes-list-map-keys'] as string[]) : [];
      const seen = new Map<string, number>();
      value.forEach((item, i) => {
        const id = listType === 'map' ? JSON.stringify(keys.map((k) => (isObj(item) ? item[k] : undefined))) : JSON.stringify(item);
        const first = seen.get(id);
        if (first !== undefined) {
          const shown = listType === 'map' ? `{${keys.map((k) => `"${k}":${JSON.stringify(isObj(item) ? item[k] : null)}`).join(',')}}` : JSON.stringify(item);
          out.push({ layer: 'list', path: `${path}[${i}]`, message: `${path}[${i}]: Duplicate value: ${shown} (same as item ${first})` });
        } else seen.set(id, i);
      });
    }
    if (schema['items'] !== undefined) value.forEach((item, i) => celFindings(schema['items'], item, `${path}[${i}]`, out));
    return;
  }
  if (isObj(value)) {
    const props = isObj(schema['properties']) ? schema['properties'] : {};
    for (const [k, v] of Object.entries(value)) {
      if (k in props) celFindings(props[k], v, join(path, k), out);
      else if (isObj(schema['additionalProperties'])) celFindings(schema['additionalProperties'], v, `${path}[${k}]`, out);
    }
  }
}

/** Compiled CRD schemas of one CRD file, keyed by group/version/kind. */
export class CrdSchemaSet {
  private constructor(
    private readonly kinds: Map<string, KindEntry>,
    /** Where the CRDs came from (for messages). */
    readonly source: string,
  ) {}

  /**
   * Compiles every CRD in `text` (a multi-document YAML file of `CustomResourceDefinition`s).
   * @throws {CoreError} ERR_ISTIO_CONFIG_INVALID when the file holds no usable CRD.
   */
  static fromYaml(text: string, source: string): CrdSchemaSet {
    const ajv = newAjv();
    const kinds = new Map<string, KindEntry>();
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new CoreError('ERR_ISTIO_CONFIG_INVALID', `${source}: not valid YAML (${doc.errors[0]?.message ?? 'parse error'})`);
      const crd = doc.toJS({ maxAliasCount: 100 }) as unknown;
      if (!isObj(crd) || crd['kind'] !== 'CustomResourceDefinition' || !isObj(crd['spec'])) continue;
      const spec = crd['spec'];
      const names = spec['names'] as Record<string, string>;
      const group = String(spec['group']);
      const entry: KindEntry = { group, kind: names['kind'] as string, plural: names['plural'] as string, versions: new Map() };
      for (const v of (spec['versions'] as Array<Record<string, unknown>>) ?? []) {
        const raw = (v['schema'] as Record<string, unknown> | undefined)?.['openAPIV3Schema'];
        if (!isObj(raw)) continue;
        const schema = prepare(raw) as Schema;
        entry.versions.set(String(v['name']), { served: v['served'] === true, schema, validate: ajv.compile(schema) });
      }
      kinds.set(`${group}/${entry.kind}`, entry);
    }
    if (kinds.size === 0) throw new CoreError('ERR_ISTIO_CONFIG_INVALID', `${source}: no CustomResourceDefinition with an openAPIV3Schema found`);
    return new CrdSchemaSet(kinds, source);
  }

  /** Every known `group/Kind`. */
  kindNames(): string[] {
    return [...this.kinds.keys()].sort();
  }

  /** True when `apiVersion`/`kind` names a served version of a known CRD. */
  knows(apiVersion: string, kind: string): boolean {
    return this.lookup(apiVersion, kind) !== undefined;
  }

  private lookup(apiVersion: string, kind: string): { schema: Schema; validate: ValidateFunction } | undefined {
    const slash = apiVersion.lastIndexOf('/');
    if (slash < 0) return undefined;
    const v = this.kinds.get(`${apiVersion.slice(0, slash)}/${kind}`)?.versions.get(apiVersion.slice(slash + 1));
    return v !== undefined && v.served ? v : undefined;
  }

  /**
   * Validates one resource's body (everything but apiVersion, kind and metadata) against its
   * CRD: structural schema, unknown fields, CEL rules and list uniqueness. Returns every finding.
   */
  validate(doc: Record<string, unknown>): SchemaFinding[] {
    const apiVersion = typeof doc['apiVersion'] === 'string' ? doc['apiVersion'] : '';
    const kind = typeof doc['kind'] === 'string' ? doc['kind'] : '';
    const entry = this.lookup(apiVersion, kind);
    if (entry === undefined) {
      const known = [...this.kinds.values()].find((k) => k.kind === kind);
      return [
        {
          layer: 'schema',
          path: 'apiVersion',
          message:
            known === undefined
              ? `kind ${JSON.stringify(kind)} is not an Istio CRD kind (${this.source})`
              : `apiVersion ${JSON.stringify(apiVersion)} is not served for ${kind}; use ${[...known.versions.entries()].filter(([, v]) => v.served).map(([n]) => `${known.group}/${n}`).join(' or ')}`,
        },
      ];
    }
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata') body[k] = v;
    const findings: SchemaFinding[] = [];
    if (!entry.validate(body)) findings.push(...ajvFindings(entry.validate.errors ?? [], body, entry.schema));
    celFindings(entry.schema, body, '', findings);
    return findings;
  }
}
