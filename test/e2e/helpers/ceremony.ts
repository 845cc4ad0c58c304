/**
 * Drives the ceremony screens in the browser by the runner's question keys, the way the people in
 * the room do: the frame brings up the screen of each question (`[data-question="<key>"]`), and a
 * person clicks their name, types a value, enters a secret in the masked field, or ticks the
 * custodians who take part. Waits are generous: an RSA-4096 key generation on a loaded machine,
 * or a custodian file (scrypt), takes seconds.
 */
import type { Locator, Page } from 'playwright-core';

/** Longest wait for the next question (key generation, custodian files, signing). */
export const QUESTION_TIMEOUT_MS = 240_000;

/** The section of the waiting question with this answers-file key. */
export function questionBox(page: Page, key: string): Locator {
  return page.locator(`[data-question=${JSON.stringify(key)}]`).first();
}

/** Waits until the question `key` is shown; returns its section. */
export async function waitQuestion(page: Page, key: string, timeout = QUESTION_TIMEOUT_MS): Promise<Locator> {
  const box = questionBox(page, key);
  await box.waitFor({ state: 'visible', timeout });
  return box;
}

/** Clicks a choice (a sign-off, a decision). */
export async function choose(page: Page, key: string, choice: string): Promise<void> {
  const box = await waitQuestion(page, key);
  await box.locator(`button[data-choice=${JSON.stringify(choice)}]`).click();
  await box.waitFor({ state: 'detached', timeout: 60_000 }).catch(() => undefined);
}

/** Types a text answer and presses Enter. */
export async function answer(page: Page, key: string, text: string): Promise<void> {
  const box = await waitQuestion(page, key);
  const input = box.locator('input[data-answer]');
  await input.fill(text);
  await input.press('Enter');
}

/** Types a text answer and waits until it was accepted (the question goes away). */
export async function answerAccepted(page: Page, key: string, text: string): Promise<void> {
  await answer(page, key, text);
  await gone(page, key);
}

/** Waits until the question `key` went away; on timeout the error carries what the screen shows. */
async function gone(page: Page, key: string, timeout = 60_000): Promise<void> {
  try {
    await questionBox(page, key).waitFor({ state: 'detached', timeout });
  } catch (e) {
    const shown = await page.locator('main').innerText().catch(() => '(main not readable)');
    throw new Error(`question ${key} is still open after ${timeout} ms; the screen shows:\n${shown.slice(0, 4000)}`, { cause: e });
  }
}

/** Enters a secret (twice when the question asks for a new one). */
export async function secret(page: Page, key: string, value: string, twice = false): Promise<void> {
  const box = await waitQuestion(page, key);
  const field = box.locator('input[type="password"]');
  await field.fill(value);
  await field.press('Enter');
  if (twice) {
    await box.locator('label', { hasText: /again/u }).waitFor({ timeout: 30_000 });
    const again = box.locator('input[type="password"]');
    await again.fill(value);
    await again.press('Enter');
  }
}

/** Ticks the custodians who take part, in order, and continues. */
export async function pickNames(page: Page, key: string, names: readonly string[]): Promise<void> {
  const box = await waitQuestion(page, key);
  for (const n of names) await box.locator(`input[data-name=${JSON.stringify(n)}]`).check();
  await box.locator('button[data-answer="names"]').click();
}

/** Signs a step off by the people given per role (in the order the runner asks). */
export async function signOff(page: Page, step: string, by: Record<string, string>): Promise<void> {
  for (const [role, name] of Object.entries(by)) await choose(page, `steps.${step}.sign-off.${role}`, name);
}

/** The key text of a custodian-specific question (`steps.enroll.passphrase."Carol Custodian"`). */
export function custodianKey(prefix: string, what: string, name: string): string {
  return `${prefix}.${what}.${JSON.stringify(name)}`;
}

/** Waits for an error panel with `code` inside the question `key`; returns its text. */
export async function refusal(page: Page, key: string, code: string): Promise<string> {
  const panel = questionBox(page, key).locator(`.error-panel[data-code="${code}"]`);
  await panel.waitFor({ timeout: 120_000 });
  return panel.innerText();
}

/**
 * Where `needle` occurs in the renderer's React tree: every fiber's props and state (hook lists
 * included), walked from the root container, depth-limited, DOM nodes and fibers skipped. Returns
 * one description per hit (component name and path), so a test can assert a secret is in none,
 * and check with a non-secret value that the walk does see state (a scan that cannot find
 * anything proves nothing).
 */
export async function reactTreeHits(page: Page, needle: string): Promise<string[]> {
  return page.evaluate((wanted) => {
    const container = document.getElementById('root');
    if (container === null) throw new Error('no #root element');
    const key = Object.keys(container).find((k) => k.startsWith('__reactContainer$'));
    if (key === undefined) throw new Error('no React root on #root');
    type Fiber = { child: Fiber | null; sibling: Fiber | null; memoizedProps: unknown; memoizedState: unknown; pendingProps: unknown; type: unknown; stateNode: unknown; return: Fiber | null };
    const rootFiber = (container as unknown as Record<string, Fiber>)[key]!;
    const hits: string[] = [];
    const seen = new Set<unknown>();
    const isFiber = (v: object): boolean => 'stateNode' in v && 'return' in v && 'memoizedProps' in v;
    const scan = (v: unknown, path: string, depth: number): void => {
      if (typeof v === 'string') {
        if (v.includes(wanted)) hits.push(path);
        return;
      }
      if (typeof v !== 'object' || v === null || depth > 60 || seen.has(v)) return;
      if (v instanceof Node || v instanceof Window || isFiber(v)) return;
      seen.add(v);
      let entries: Array<[string, unknown]>;
      try {
        entries = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : v instanceof Set ? [...v].map((x, i) => [String(i), x]) : Object.entries(v);
      } catch {
        return;
      }
      for (const [k, x] of entries) scan(x, `${path}.${k}`, depth + 1);
    };
    const nameOf = (f: Fiber): string => (typeof f.type === 'function' ? ((f.type as { name?: string }).name ?? 'anonymous') : typeof f.type === 'string' ? f.type : 'fiber');
    const stack: Fiber[] = [rootFiber];
    let visited = 0;
    while (stack.length > 0) {
      const f = stack.pop()!;
      visited++;
      const name = nameOf(f);
      scan(f.memoizedProps, `${name}.props`, 0);
      scan(f.pendingProps, `${name}.pendingProps`, 0);
      scan(f.memoizedState, `${name}.state`, 0);
      if (f.sibling !== null) stack.push(f.sibling);
      if (f.child !== null) stack.push(f.child);
    }
    if (visited < 20) throw new Error(`only ${visited} fibers found: the walk does not see the app`);
    return hits;
  }, needle);
}
