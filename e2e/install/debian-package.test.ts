import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_KEYS } from '../../middleware/config';
import { envTemplate } from '../../middleware/config-template';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { NodeProcess, runMarker } from '../../testing/node-process';
import { freePort } from '../../testing/process-group';
import { waitFor } from '../../testing/wait';
import { NAME, buildPackage } from '../../scripts/package-deb';

/**
 * The release as an operator installs it: `npm run package` builds the Debian package; its unit passes systemd's own
 * check; unpacked into a temporary root, the service's ExecStart (plain node, no TypeScript) runs from the filled
 * environment file against the lab's emulators and answers /readyz; the commands run from it too.
 */
jest.setTimeout(240_000);

describe('npm run package', () => {
  let deb: string;
  let root: string;
  const out = mkdtempSync(join(tmpdir(), 'deb-out-'));
  beforeAll(async () => {
    deb = await buildPackage(out);
    root = mkdtempSync(join(tmpdir(), 'deb-root-'));
    execFileSync('dpkg-deb', ['-x', deb, root]);
  });
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });
  const dpkg = (...args: string[]) => execFileSync('dpkg-deb', [...args, deb], { encoding: 'utf8' });

  it('declares what it is, keeps the environment file as a conffile, and carries production code only', () => {
    expect(dpkg('--field')).toMatch(new RegExp(`^Package: ${NAME}\\nVersion: \\d+\\.\\d+\\.\\d+\\nArchitecture: \\w+`, 'm'));
    expect(dpkg('--info')).toMatch(/Depends: nodejs \(>= 20\)/);
    execFileSync('dpkg-deb', ['-e', deb, join(root, 'DEBIAN')]);
    expect(readFileSync(join(root, 'DEBIAN/conffiles'), 'utf8')).toBe(`/etc/${NAME}/${NAME}.env\n`);
    const files = dpkg('--contents');
    expect(files).toContain(`./opt/${NAME}/dist/app/middleware/main.js`);
    expect(files).toContain(`./opt/${NAME}/dist/gadget/FinesseBitrix24.xml`);
    expect(files).toContain(`./opt/${NAME}/node_modules/koa/`);
    for (const dev of ['typescript', 'tsx', 'jest', 'esbuild', 'playwright-core', 'eslint']) expect(files).not.toContain(`./opt/${NAME}/node_modules/${dev}/`);
    expect(files).not.toMatch(new RegExp(`\\./opt/${NAME}/dist/\\S*\\.ts\\n`)); // our code: no TypeScript, no test
    expect(files).toMatch(/^drwxr-xr-x root\/root +0 \S+ \S+ \.\/\n/); // the root's mode as / has it
  });

  it('the environment file names every key of the configuration, with what it is for', () => {
    const env = readFileSync(join(root, 'etc', NAME, `${NAME}.env`), 'utf8');
    expect(env).toBe(envTemplate({ DATA_DIR: `/var/lib/${NAME}` }));
    for (const key of Object.keys(CONFIG_KEYS)) expect(env).toMatch(new RegExp(`^#?${key}=`, 'm'));
  });

  it('its systemd unit passes systemd-analyze verify, with the hardening and the restart policy', () => {
    const unit = join(root, 'lib/systemd/system', `${NAME}.service`);
    const r = execFileSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r).toBe('');
    const text = readFileSync(unit, 'utf8');
    for (const line of [
      `EnvironmentFile=/etc/${NAME}/${NAME}.env`,
      'Restart=on-failure',
      'KillSignal=SIGTERM',
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      `ReadWritePaths=/var/lib/${NAME}`,
      'PrivateTmp=true',
      `User=${NAME}`,
    ])
      expect(text).toContain(`\n${line}\n`);
  });

  it('its maintainer scripts and its command are valid shell', () => {
    for (const script of ['DEBIAN/postinst', 'DEBIAN/prerm', 'DEBIAN/postrm', `usr/bin/${NAME}`]) execFileSync('sh', ['-n', join(root, script)]);
    expect(readFileSync(join(root, 'DEBIAN/postinst'), 'utf8')).toMatch(/adduser --system --group/);
    expect(readFileSync(join(root, 'DEBIAN/postrm'), 'utf8')).not.toMatch(/rm -rf? \/var\/lib/); // the store survives a purge
  });

  describe('unpacked, against the lab', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ mode: 'webhook' });
    });
    afterAll(() => stack.stop());

    /** The environment file as an operator fills it, read the way systemd's EnvironmentFile= does (KEY=value lines). */
    const filled = (port: number, dataDir: string) => {
      const file = join(root, 'etc', NAME, `${NAME}.env`);
      const keys = ['B24_WEBHOOK_URL', 'B24_UNPROCESSED_USER_ID', 'UCCX_LOOKUP_TOKEN', 'HOST'] as const;
      writeFileSync(file, envTemplate({ ...Object.fromEntries(keys.map((k) => [k, stack.env[k]!])), PORT: String(port), DATA_DIR: dataDir }));
      return Object.fromEntries(
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => /^[A-Z0-9_]+=/.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      ) as Record<string, string>;
    };

    it("the unit's ExecStart answers /readyz and stops on SIGTERM; the doctor runs from the package", async () => {
      const port = await freePort();
      const env = filled(port, mkdtempSync(join(tmpdir(), 'deb-data-')));
      const app = join(root, 'opt', NAME);
      const node = new NodeProcess(join(app, 'dist/app/middleware/main.js'), env, undefined, { cwd: app });
      try {
        let exited = false;
        void node.exited.then(() => (exited = true));
        const ready = await waitFor(
          async () => {
            if (exited) throw new Error('the packaged middleware exited');
            const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
            return r?.ok ? r.json() : null;
          },
          90_000,
          'the packaged middleware ready',
        );
        expect(ready).toEqual({ ready: true });
        const lookup = await (await fetch(`http://127.0.0.1:${port}/uccx/lookup?ani=89123456789&token=${env.UCCX_LOOKUP_TOKEN}`)).text();
        expect(lookup).toContain('<status>found</status>');
        node.signal('SIGTERM');
        expect(await node.exited).toEqual({ code: 0, signal: null });
      } finally {
        await node.stop();
      }
      // Asynchronously: the lab's emulator answers from this very process.
      const doctor = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [join(app, 'dist/app/scripts/doctor.js'), '--lang', 'en'], { cwd: app, env: { PATH: process.env.PATH ?? '', ...runMarker(), ...env } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
      expect(doctor.stdout).toMatch(/^ok {4}bitrix24: the portal answers/m);
      expect([doctor.code, doctor.stderr]).toEqual([0, '']);
    });
  });
});
