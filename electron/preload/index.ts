/**
 * @module electron/preload
 * The preload of the workstation window (sandboxed, context-isolated). It exposes one object,
 * `window.api`, generated from the IPC contract: `api.<group>.<name>(request)` for each invoke
 * entry and `api.<group>.on<Name>(listener) → unsubscribe` for each event entry. Every exposed
 * function closes over its own constant channel.
 *
 * Imports only `electron` (contextBridge, ipcRenderer) and the contract (lint-enforced); bundled to
 * `dist/electron/preload.cjs`. Must never: expose `ipcRenderer`, a `send(channel)`-style function,
 * `sendSync`, or any Node object.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

import { buildApi, contract } from '../ipc/contract.ts';

const api = buildApi(contract, {
  invoke: (channel, request) => ipcRenderer.invoke(channel, request),
  subscribe: (channel, listener) => {
    const wrapped = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
});

contextBridge.exposeInMainWorld('api', api);
