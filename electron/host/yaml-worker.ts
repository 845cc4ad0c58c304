/**
 * @module electron/host/yaml-worker
 * The worker thread that checks ceremony files ({@link checkYamlText}) for `yaml-checker.ts`, so the
 * YAML parser's work on a hostile file never runs on the thread that serves the UI. It answers one
 * message with one message and keeps no state between them.
 *
 * Must never: touch the file system (the main side reads the bytes), or answer without the id it
 * was asked with.
 */
// @peculiar/x509 (used by core's ceremony, quorum and transcript code) needs this once, first.
import 'reflect-metadata';

import { parentPort } from 'node:worker_threads';

import { serializeError } from '../../core/errors.ts';
import { checkYamlText } from './yaml-check.ts';

/** A check request. */
export interface YamlCheckRequest {
  id: number;
  text: string;
  source: string;
  baseDir: string;
}

parentPort?.on('message', (m: YamlCheckRequest) => {
  try {
    parentPort?.postMessage({ id: m.id, ok: true, result: checkYamlText(m.text, m.source, m.baseDir) });
  } catch (e) {
    parentPort?.postMessage({ id: m.id, ok: false, error: serializeError(e) });
  }
});
