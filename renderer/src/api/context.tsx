/**
 * @module renderer/api/context
 * React access to the API and a small hook for calls: `useApi()` and `useCall()`, which tracks
 * loading, value and error (`{code, message}`) of one call.
 *
 * Must never: put a secret in state.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

import type { IpcError, RendererApi, Result } from './api.ts';

const ApiContext = createContext<RendererApi | null>(null);

/** Provides the API to the tree. */
export function ApiProvider({ api, children }: { api: RendererApi; children: ReactNode }): React.JSX.Element {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

/** The API. */
export function useApi(): RendererApi {
  const api = useContext(ApiContext);
  if (api === null) throw new TypeError('useApi outside ApiProvider');
  return api;
}

/** State of one call. */
export type CallState<T> = { status: 'idle' } | { status: 'loading' } | { status: 'ok'; value: T } | { status: 'error'; error: IpcError };

/**
 * Runs `call` on mount (unless `lazy`) and on `run()`; keeps only the latest answer.
 */
export function useCall<T>(call: () => Promise<Result<T>>, options: { lazy?: boolean } = {}): [CallState<T>, () => Promise<void>] {
  const [state, setState] = useState<CallState<T>>(options.lazy === true ? { status: 'idle' } : { status: 'loading' });
  const latest = useRef(0);
  const callRef = useRef(call);
  callRef.current = call;
  const run = useCallback(async () => {
    const n = ++latest.current;
    setState({ status: 'loading' });
    const r = await callRef.current();
    if (n !== latest.current) return;
    setState(r.ok ? { status: 'ok', value: r.value } : { status: 'error', error: r.error });
  }, []);
  useEffect(() => {
    if (options.lazy !== true) void run();
    // Runs once on mount; callers re-run explicitly with run().
  }, [run, options.lazy]);
  return [state, run];
}
