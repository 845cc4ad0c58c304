/**
 * @module renderer/api
 * The renderer's one way to reach the main side: `window.api`, generated from the IPC contract.
 * In Electron the preload exposes it over IPC; in the browser mode it is built here over HTTP to the
 * loopback host, from the same contract, so every screen's code is identical in both modes.
 *
 * Must never: import Node built-ins or core at runtime, or keep a secret.
 */
import type { z } from 'zod';

import { buildApi, contract, type Api, type Contract } from '../../../electron/ipc/contract.ts';
import { createHttpTransport } from './transport-http.ts';

/** The API every screen uses. */
export type RendererApi = Api<Contract>;

/** The reply value of an operation (`ReplyOf<'hsm', 'keys'>`). */
export type ReplyOf<G extends keyof Contract, K extends keyof Contract[G]> = Contract[G][K] extends { reply: infer R extends z.ZodType } ? z.output<R> : never;

declare global {
  interface Window {
    /** Exposed by the Electron preload; absent in the browser mode. */
    readonly api?: RendererApi;
  }
}

/** The preload's API in Electron; otherwise the loopback transport for the page's own address. */
export function selectApi(win: Window): { api: RendererApi; transport: 'ipc' | 'http' } {
  if (win.api !== undefined) return { api: win.api, transport: 'ipc' };
  return { api: buildApi(contract, createHttpTransport(new URL('./', win.location.href))), transport: 'http' };
}

export type { IpcError, Result } from '../../../electron/ipc/contract.ts';
