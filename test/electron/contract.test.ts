/**
 * The IPC contract and what is derived from it: every entry has a handler (at compile time and at
 * run time), a preload binding and an IPC registration; routes validate, never throw, and map
 * failures to codes; the renderer API built over any transport never rejects.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import { CoreError } from '../../core/errors.ts';
import { createHandlers } from '../../electron/host/handlers/index.ts';
import { createEmitters, createRouter } from '../../electron/host/router.ts';
import { contract, type Contract } from '../../electron/ipc/contract.ts';
import { buildApi, channelOf, event, invoke, listEntries, subscribeNameOf, type Handlers } from '../../electron/ipc/schema.ts';
import { registerIpc } from '../../electron/main/ipc.ts';
import { APP_ENTRY_URL } from '../../electron/main/security.ts';
import { recordingLogger, testConfig, testDeps } from './helpers.ts';

const entries = listEntries(contract);
const invokes = entries.filter((e) => e.entry.kind === 'invoke');
const events = entries.filter((e) => e.entry.kind === 'event');

describe('the contract', () => {
  it('derives one unique group:name channel per entry', () => {
    const channels = entries.map((e) => e.channel);
    expect(new Set(channels).size).toBe(channels.length);
    for (const e of entries) {
      expect(e.channel).toBe(`${e.group}:${e.name}`);
      expect(e.channel).toMatch(/^[a-z]+:[a-z][A-Za-z]*$/u);
      expect(e.entry.summary.length).toBeGreaterThan(10);
    }
    expect(invokes.length).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
  });

  it('makes every request a strict object: unknown fields are refused', () => {
    for (const { channel, entry } of invokes) {
      if (entry.kind !== 'invoke') continue;
      const r = entry.request.safeParse({ __unexpected: 1 });
      expect(r.success, channel).toBe(false);
    }
  });

  it('marks the secret-bearing request sensitive, and only that one', () => {
    expect(invokes.filter((e) => e.entry.kind === 'invoke' && e.entry.sensitive).map((e) => e.channel)).toEqual(['secrets:submit']);
  });

  it('names subscribe functions on<Name>', () => {
    expect(subscribeNameOf('navigate')).toBe('onNavigate');
    expect(channelOf('hsm', 'keys')).toBe('hsm:keys');
  });
});

describe('handlers', () => {
  const { logger } = recordingLogger();
  const handlers = createHandlers(testDeps(testConfig(), logger));

  it('exist for every invoke entry and for nothing else', () => {
    const table = handlers as unknown as Record<string, Record<string, unknown>>;
    const have = Object.entries(table).flatMap(([g, members]) => Object.keys(members).map((n) => `${g}:${n}`));
    expect(have.sort()).toEqual(invokes.map((e) => e.channel).sort());
    for (const ch of have) {
      const [g, n] = ch.split(':') as [string, string];
      expect(typeof table[g]?.[n], ch).toBe('function');
    }
    expect(() => createRouter(contract, handlers, logger)).not.toThrow();
  });

  it('a missing handler is a compile error, and a TypeError if the types are bypassed', () => {
    const { keys: _dropped, ...hsmWithoutKeys } = handlers.hsm;
    // @ts-expect-error -- hsm.keys is missing: the mapped type must refuse this object
    const incomplete: Handlers<Contract> = { ...handlers, hsm: hsmWithoutKeys };
    expect(() => createRouter(contract, incomplete, logger)).toThrow(/no handler for contract entry hsm:keys/u);
  });

  it('a handler the contract does not declare is refused', () => {
    const extra = { ...handlers, hsm: { ...handlers.hsm, wipeToken: () => ({}) } } as unknown as Handlers<Contract>;
    expect(() => createRouter(contract, extra, logger)).toThrow(/hsm:wipeToken is not declared/u);
  });
});

describe('routes', () => {
  const mini = {
    t: {
      echo: invoke({ summary: 'echo a word back', request: z.object({ word: z.string().max(5) }).strict(), reply: z.object({ word: z.string() }).strict() }),
      secret: invoke({ summary: 'takes a secret value', sensitive: true, request: z.object({ value: z.string().max(4) }).strict(), reply: z.object({}).strict() }),
      fails: invoke({ summary: 'throws a CoreError', request: z.object({}).strict(), reply: z.object({}).strict() }),
      crashes: invoke({ summary: 'throws a library error', request: z.object({}).strict(), reply: z.object({}).strict() }),
      lies: invoke({ summary: 'answers off-contract', request: z.object({}).strict(), reply: z.object({ n: z.number() }).strict() }),
      changed: event({ summary: 'something changed', payload: z.object({ n: z.number() }).strict() }),
    },
  };
  const { logger, records } = recordingLogger();
  const router = createRouter(
    mini,
    {
      t: {
        echo: (r) => ({ word: r.word }),
        secret: () => ({}),
        fails: () => {
          throw new CoreError('ERR_HSM_PIN_INCORRECT', 'the PIN is incorrect');
        },
        crashes: () => {
          throw new Error('driver said pin=7777');
        },
        lies: () => ({ n: 'not a number' }) as unknown as { n: number },
      },
    },
    logger,
  );
  const call = (ch: string, raw: unknown): ReturnType<NonNullable<ReturnType<typeof router.get>>> => router.get(ch)!(raw, { host: 'loopback' });

  it('passes a valid request to the handler and wraps the reply', async () => {
    expect(await call('t:echo', { word: 'hi' })).toEqual({ ok: true, value: { word: 'hi' } });
  });

  it.each([
    ['word', { word: 42 }, /word: /u],
    ['word', { word: 'toolong' }, /word: /u],
    ['(request)', 'not an object', /\(request\)/u],
    ['(request)', null, /\(request\)/u],
    ['unknown key', { word: 'a', extra: 1 }, /Unrecognized key/u],
  ])('refuses a malformed request (%s) with ERR_APP_REQUEST_INVALID naming the field', async (_name, raw, message) => {
    const r = await call('t:echo', raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('ERR_APP_REQUEST_INVALID');
      expect(r.error.message).toMatch(message);
    }
  });

  it('never echoes what a sensitive request carried', async () => {
    const r = await call('t:secret', { value: 'super-secret-value' });
    expect(r).toEqual({ ok: false, error: { code: 'ERR_APP_REQUEST_INVALID', message: expect.stringContaining('(value)') } });
    expect(JSON.stringify(r)).not.toContain('super-secret-value');
    expect(JSON.stringify(records)).not.toContain('super-secret-value');
  });

  it('maps a CoreError to its code and message', async () => {
    expect(await call('t:fails', {})).toEqual({ ok: false, error: { code: 'ERR_HSM_PIN_INCORRECT', message: 'the PIN is incorrect' } });
  });

  it('maps any other error to ERR_INTERNAL without its text', async () => {
    const r = await call('t:crashes', {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('ERR_INTERNAL');
    expect(JSON.stringify(r) + JSON.stringify(records)).not.toContain('pin=7777');
  });

  it('refuses to send a reply that does not match the contract', async () => {
    const r = await call('t:lies', {});
    expect(r).toEqual({ ok: false, error: { code: 'ERR_INTERNAL', message: expect.stringContaining('did not match the contract') } });
  });

  it('emitters validate the payload before sending', () => {
    const sent: unknown[] = [];
    const emit = createEmitters(mini, (channel, payload) => sent.push([channel, payload]));
    emit.t.changed({ n: 1 });
    expect(sent).toEqual([['t:changed', { n: 1 }]]);
    expect(() => emit.t.changed({ n: 'x' } as unknown as { n: number })).toThrow(expect.objectContaining({ code: 'ERR_INTERNAL' }));
    expect(sent).toHaveLength(1);
  });
});

describe('the renderer API built from the contract', () => {
  it('has exactly one function per entry and calls the entry’s own channel', async () => {
    const calls: Array<[string, unknown]> = [];
    const subs: string[] = [];
    const api = buildApi(contract, {
      invoke: (channel, request) => {
        calls.push([channel, request]);
        return Promise.resolve({ ok: true, value: { echoed: channel } });
      },
      subscribe: (channel) => {
        subs.push(channel);
        return () => {};
      },
    });
    const shape = Object.fromEntries(Object.entries(api).map(([g, m]) => [g, Object.keys(m as object).sort()]));
    const expected: Record<string, string[]> = {};
    for (const e of entries) (expected[e.group] ??= []).push(e.entry.kind === 'invoke' ? e.name : subscribeNameOf(e.name));
    for (const g of Object.keys(expected)) expected[g]!.sort();
    expect(shape).toEqual(expected);
    await api.hsm.status({});
    api.app.onNavigate(() => {});
    expect(calls).toEqual([['hsm:status', {}]]);
    expect(subs).toEqual(['app:navigate']);
  });

  it('turns a transport failure or a malformed answer into ERR_APP_HOST_UNAVAILABLE, never a rejection', async () => {
    const broken = buildApi(contract, { invoke: () => Promise.reject(new Error('network down')), subscribe: () => () => {} });
    expect(await broken.app.info({})).toEqual({ ok: false, error: { code: 'ERR_APP_HOST_UNAVAILABLE', message: expect.stringContaining('did not answer') } });
    const garbled = buildApi(contract, { invoke: () => Promise.resolve({ ok: 'yes' }), subscribe: () => () => {} });
    expect(await garbled.app.info({})).toEqual({ ok: false, error: { code: 'ERR_APP_HOST_UNAVAILABLE', message: expect.stringContaining('malformed') } });
  });
});

describe('the preload', () => {
  afterEach(() => {
    vi.doUnmock('electron');
    vi.resetModules();
  });

  it('exposes only window.api, with one binding per contract entry over its own channel', async () => {
    const exposed: Array<[string, unknown]> = [];
    const ipcRenderer = {
      invoke: vi.fn((_channel: string, _request: unknown) => Promise.resolve({ ok: true, value: {} })),
      on: vi.fn(),
      removeListener: vi.fn(),
      send: vi.fn(),
      sendSync: vi.fn(),
    };
    vi.doMock('electron', () => ({ contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.push([key, value]) }, ipcRenderer }));
    await import('../../electron/preload/index.ts');
    expect(exposed.map(([k]) => k)).toEqual(['api']);
    const api = exposed[0]![1] as Record<string, Record<string, (...a: unknown[]) => unknown>>;
    for (const e of entries) {
      const member = api[e.group]?.[e.entry.kind === 'invoke' ? e.name : subscribeNameOf(e.name)];
      expect(typeof member, e.channel).toBe('function');
      if (e.entry.kind === 'invoke') {
        await member!({});
        expect(ipcRenderer.invoke).toHaveBeenLastCalledWith(e.channel, {});
      } else {
        const off = member!(() => {}) as () => void;
        expect(ipcRenderer.on).toHaveBeenLastCalledWith(e.channel, expect.any(Function));
        off();
        expect(ipcRenderer.removeListener).toHaveBeenLastCalledWith(e.channel, ipcRenderer.on.mock.lastCall?.[1]);
      }
    }
    const count = Object.values(api).reduce((n, m) => n + Object.keys(m).length, 0);
    expect(count).toBe(entries.length);
    expect(ipcRenderer.send).not.toHaveBeenCalled();
    expect(ipcRenderer.sendSync).not.toHaveBeenCalled();
  });
});

describe('main-side IPC registration', () => {
  const { logger } = recordingLogger();
  const router = createRouter(contract, createHandlers(testDeps(testConfig(), logger)), logger);

  const register = (): { handlers: Map<string, (event: unknown, raw: unknown) => Promise<unknown>>; trusted: Set<number> } => {
    const handlers = new Map<string, (event: unknown, raw: unknown) => Promise<unknown>>();
    const trusted = new Set([7]);
    registerIpc({ handle: (channel: string, fn: (event: unknown, raw: unknown) => Promise<unknown>) => void handlers.set(channel, fn) } as never, router, trusted, logger);
    return { handlers, trusted };
  };
  const frame = (url: string, parent: unknown = null): unknown => ({ url, parent });

  it('registers exactly one handler per invoke channel', () => {
    const { handlers } = register();
    expect([...handlers.keys()].sort()).toEqual(invokes.map((e) => e.channel).sort());
  });

  it.each([
    ['another origin', { senderFrame: frame('https://evil.example/'), sender: { id: 7 } }],
    ['a subframe', { senderFrame: frame(APP_ENTRY_URL, {}), sender: { id: 7 } }],
    ['an unknown window', { senderFrame: frame(APP_ENTRY_URL), sender: { id: 8 } }],
    ['a destroyed frame', { senderFrame: null, sender: { id: 7 } }],
    ['a file: page', { senderFrame: frame('file:///tmp/x.html'), sender: { id: 7 } }],
    ['a look-alike host', { senderFrame: frame('neam://workstation.evil/index.html'), sender: { id: 7 } }],
  ])('refuses a call from %s with ERR_APP_FORBIDDEN', async (_name, ev) => {
    const { handlers } = register();
    expect(await handlers.get('app:info')!(ev, {})).toEqual({ ok: false, error: { code: 'ERR_APP_FORBIDDEN', message: expect.any(String) } });
  });

  it('serves the main frame of our window', async () => {
    const { handlers } = register();
    const r = (await handlers.get('app:info')!({ senderFrame: frame(APP_ENTRY_URL), sender: { id: 7 } }, {})) as { ok: boolean; value: { host: string } };
    expect(r.ok).toBe(true);
    expect(r.value.host).toBe('electron');
  });
});
