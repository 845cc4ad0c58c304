/**
 * The workstation configuration from argv and environment: the same HSM options as the CLI, the
 * folders of ceremony files, and rehearsal mode (always on with SoftHSM).
 */
import { describe, expect, it } from 'vitest';

import { hsmConfigOf, resolveAppConfig, type ConfigInputs } from '../../electron/host/config.ts';

const base: ConfigInputs = { argv: [], env: {}, cwd: '/work/site', home: '/home/admin', strict: true };
const resolve = (over: Partial<ConfigInputs>): ReturnType<typeof resolveAppConfig> => resolveAppConfig({ ...base, ...over });

describe('resolveAppConfig', () => {
  it('defaults to SoftHSM in NEAM_CA_HOME, ./ceremony-scripts, and a rehearsal', () => {
    const c = resolve({});
    expect(c.modulePath).toBeUndefined();
    expect(c.softhsmDir).toBe('/home/admin/.local/state/neam-ca/softhsm');
    expect(c.softhsmConf).toBeUndefined();
    expect(c.fileRoots).toEqual([{ id: 'r0', label: '/work/site/ceremony-scripts', path: '/work/site/ceremony-scripts' }]);
    expect(c.rehearsal).toEqual({ on: true, reason: expect.stringContaining('SoftHSM is a software token') });
  });

  it.each([
    ['--softhsm-conf wins over the environment', { argv: ['--softhsm-conf', 'conf/x.conf'], env: { SOFTHSM2_CONF: '/etc/other.conf' } }, { softhsmConf: '/work/site/conf/x.conf' }],
    ['SOFTHSM2_CONF is used without options', { env: { SOFTHSM2_CONF: '/etc/softhsm2.conf' } }, { softhsmConf: '/etc/softhsm2.conf' }],
    ['--softhsm-dir wins over SOFTHSM2_CONF', { argv: ['--softhsm-dir', '/d'], env: { SOFTHSM2_CONF: '/etc/softhsm2.conf' } }, { softhsmConf: undefined, softhsmDir: '/d' }],
    ['NEAM_CA_HOME moves the default token folder', { env: { NEAM_CA_HOME: '/state' } }, { softhsmDir: '/state/softhsm' }],
    ['--scripts is repeatable and relative to cwd', { argv: ['--scripts', 'a', '--scripts', '/b'] }, { fileRoots: [{ id: 'r0', label: '/work/site/a', path: '/work/site/a' }, { id: 'r1', label: '/b', path: '/b' }] }],
  ])('%s', (_n, over, expected) => {
    expect(resolve(over as Partial<ConfigInputs>)).toMatchObject(expected);
  });

  it.each([
    ['a vendor module without --rehearsal is live', { argv: ['--module', '/opt/hsm/libvendor.so'] }, { on: false, reason: null }],
    ['a vendor module from the environment is live', { env: { NEAM_CA_PKCS11_MODULE: '/opt/hsm/libvendor.so' } }, { on: false, reason: null }],
    ['--rehearsal marks a vendor module run', { argv: ['--module', '/opt/hsm/libvendor.so', '--rehearsal'] }, { on: true, reason: expect.stringContaining('--rehearsal') }],
    ['NEAM_CA_REHEARSAL=1 marks it too', { argv: ['--module', '/opt/hsm/libvendor.so'], env: { NEAM_CA_REHEARSAL: '1' } }, { on: true, reason: expect.any(String) }],
    ['SoftHSM by path is always a rehearsal', { argv: ['--module', '/usr/lib/softhsm/libsofthsm2.so'] }, { on: true, reason: expect.stringContaining('SoftHSM') }],
  ])('rehearsal: %s', (_n, over, expected) => {
    expect(resolve(over as Partial<ConfigInputs>).rehearsal).toEqual(expected);
  });

  it('refuses an unknown option in strict mode, and ignores Chromium switches otherwise', () => {
    expect(() => resolve({ argv: ['--modul', 'x'] })).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    expect(resolve({ strict: false, argv: ['--inspect=0', '--remote-debugging-port=0', 'dist/electron/main.mjs', '--rehearsal'] }).rehearsal.on).toBe(true);
  });

  it('hsmConfigOf hands core the module and the SoftHSM folder or configuration', () => {
    expect(hsmConfigOf(resolve({ argv: ['--module', '/opt/hsm/libvendor.so'] }))).toEqual({ modulePath: '/opt/hsm/libvendor.so' });
    expect(hsmConfigOf(resolve({ argv: ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--softhsm-dir', '/t'] }))).toEqual({ modulePath: '/usr/lib/softhsm/libsofthsm2.so', softhsmDir: '/t' });
  });
});
