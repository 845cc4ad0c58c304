/**
 * @module istio/yaml-source
 * Parses a YAML (or JSON) input file into plain data while remembering where each value came
 * from, so validation problems can name the line; converts zod issues into {@link Problem}s.
 *
 * Must never: expand unbounded aliases (billion-laughs), or accept duplicate keys silently.
 */
import { LineCounter, parseAllDocuments, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

import { CoreError, type CoreErrorCode, type Problem } from '../errors.ts';

/** A parsed YAML document and a way back from a data path to its source line. */
export interface SourcedYaml {
  value: unknown;
  /** 1-based line of the node at `path`, or of the nearest ancestor that exists. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

const MAX_ALIASES = 100;

function sourced(doc: Document, counter: LineCounter): SourcedYaml {
  return {
    value: doc.toJS({ maxAliasCount: MAX_ALIASES }),
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n) as Array<string | number>, true) as { range?: [number, number, number] } | undefined;
        if (node?.range !== undefined) return counter.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

/**
 * Parses one YAML document.
 * @throws {CoreError} with `code` when the text is not YAML (the message names the line).
 */
export function parseYamlSourced(text: string, file: string, code: CoreErrorCode): SourcedYaml {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err?.pos === undefined ? undefined : counter.linePos(err.pos[0]).line;
    throw new CoreError(code, `${file}${line === undefined ? '' : `:${line}`}: not valid YAML (${err?.message.split('\n')[0] ?? 'parse error'})`, { details: { file, line } });
  }
  try {
    return sourced(doc, counter);
  } catch (e) {
    throw new CoreError(code, `${file}: the YAML could not be read (${e instanceof Error ? e.message : 'error'}); aliases are limited to ${MAX_ALIASES}`, { cause: e, details: { file } });
  }
}

/** One document of a multi-document YAML stream, with its 1-based starting line. */
export interface YamlStreamDoc {
  index: number;
  line: number;
  value: unknown;
  error?: string;
}

/** Parses a multi-document YAML stream; a broken document is returned with `error`, not thrown. */
export function parseYamlStream(text: string): YamlStreamDoc[] {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  return list.map((doc, index) => {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = counter.linePos(start).line;
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const at = e?.pos === undefined ? line : counter.linePos(e.pos[0]).line;
      return { index, line: at, value: undefined, error: `not valid YAML (${e?.message.split('\n')[0] ?? 'parse error'})` };
    }
    try {
      return { index, line, value: doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown };
    } catch (e) {
      return { index, line, value: undefined, error: `the YAML could not be read (${e instanceof Error ? e.message : 'error'})` };
    }
  });
}

/** Dotted path of a zod issue path (`exceptions.2.expires`). */
export function dotted(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

/** Converts zod issues to problems with source lines. */
export function zodProblems(error: z.ZodError, src: SourcedYaml, prefix: readonly PropertyKey[] = []): Problem[] {
  return error.issues.map((i) => {
    const path = [...prefix, ...i.path];
    const line = src.lineOf(path);
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')} (check the spelling)`;
    return line === undefined ? { path: dotted(path), message } : { path: dotted(path), message, line };
  });
}
