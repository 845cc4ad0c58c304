/**
 * Test helper: the text of each page of a PDF printed by Chromium (Skia's PDF backend), decoded
 * through each font's ToUnicode map. Enough to assert what a printed page shows; not a general
 * PDF parser (no object streams, no encryption, only the operators Skia writes).
 */
import { inflateSync } from 'node:zlib';

function streamOf(obj: string, raw: Buffer, start: number): Buffer | undefined {
  const s = obj.indexOf('stream');
  if (s < 0) return undefined;
  let from = start + s + 'stream'.length;
  if (raw[from] === 0x0d) from++;
  if (raw[from] === 0x0a) from++;
  const end = raw.indexOf('endstream', from, 'latin1');
  try {
    return inflateSync(raw.subarray(from, end));
  } catch {
    return undefined;
  }
}

function toUnicode(cmap: string): Map<number, string> {
  const map = new Map<number, string>();
  const hex = (h: string): string => Buffer.from(h, 'hex').swap16().toString('utf16le');
  for (const block of cmap.match(/beginbfchar([\s\S]*?)endbfchar/gu) ?? []) {
    for (const m of block.matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/gu)) map.set(Number.parseInt(m[1] as string, 16), hex(m[2] as string));
  }
  for (const block of cmap.match(/beginbfrange([\s\S]*?)endbfrange/gu) ?? []) {
    for (const m of block.matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/gu)) {
      const lo = Number.parseInt(m[1] as string, 16);
      const hi = Number.parseInt(m[2] as string, 16);
      const base = Number.parseInt(m[3] as string, 16);
      for (let g = lo; g <= hi; g++) map.set(g, String.fromCodePoint(base + g - lo));
    }
  }
  return map;
}

/** The text of every page, in page order. */
export function pdfPageTexts(pdf: Buffer): string[] {
  const text = pdf.toString('latin1');
  const objects = new Map<number, { body: string; start: number }>();
  for (const m of text.matchAll(/(\d+) 0 obj([\s\S]*?)endobj/gu)) objects.set(Number(m[1]), { body: m[2] as string, start: (m.index ?? 0) + m[0].indexOf('obj') + 3 });
  const stream = (n: number): Buffer | undefined => {
    const o = objects.get(n);
    return o === undefined ? undefined : streamOf(o.body, pdf, o.start);
  };
  const fonts = new Map<number, Map<number, string>>();
  for (const [n, o] of objects) {
    const m = /\/ToUnicode (\d+) 0 R/u.exec(o.body);
    const cmap = m === null ? undefined : stream(Number(m[1]));
    if (cmap !== undefined) fonts.set(n, toUnicode(cmap.toString('latin1')));
  }
  const fontDict = (body: string): Map<string, number> => {
    let f = /\/Font\s*<<([\s\S]*?)>>/u.exec(body)?.[1];
    if (f === undefined) {
      const r = /\/Resources (\d+) 0 R/u.exec(body);
      f = r === null ? undefined : /\/Font\s*<<([\s\S]*?)>>/u.exec(objects.get(Number(r[1]))?.body ?? '')?.[1];
    }
    return new Map([...(f ?? '').matchAll(/\/(\w+) (\d+) 0 R/gu)].map((m) => [m[1] as string, Number(m[2])]));
  };
  const pages: Array<{ order: number; text: string }> = [];
  for (const [n, o] of objects) {
    if (!/\/Type\s*\/Page\b/u.test(o.body)) continue;
    const c = /\/Contents (\d+) 0 R/u.exec(o.body);
    const content = c === null ? undefined : stream(Number(c[1]));
    const names = fontDict(o.body);
    let cur: Map<number, string> | undefined;
    let out = '';
    for (const t of (content?.toString('latin1') ?? '').matchAll(/\/(\w+) [\d.]+ Tf|<([0-9A-Fa-f]+)> Tj|\[([^\]]*)\] TJ/gu)) {
      if (t[1] !== undefined) cur = fonts.get(names.get(t[1]) ?? -1);
      else {
        const hex = t[2] ?? [...(t[3] ?? '').matchAll(/<([0-9A-Fa-f]+)>/gu)].map((m) => m[1]).join('');
        for (let i = 0; i + 4 <= hex.length; i += 4) out += cur?.get(Number.parseInt(hex.slice(i, i + 4), 16)) ?? '?';
      }
    }
    pages.push({ order: n, text: out });
  }
  // Chromium writes page objects in page order.
  return pages.sort((a, b) => a.order - b.order).map((p) => p.text);
}
