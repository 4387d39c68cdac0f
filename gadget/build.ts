import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { GADGET_CSS } from './src/gadget-view';

/**
 * `npm run build`: the folder to upload to Finesse's 3rdpartygadget (docs/install.md, the Finesse gadget):
 * FinesseBitrix24.xml, fb24.js, fb24.css, and standalone.html (the gadget outside the desktop). Asset URLs carry a content hash, so the desktop's
 * gadget cache never serves an old bundle after an upgrade.
 */
export const GADGET_XML = 'FinesseBitrix24.xml';

export async function buildGadget(outDir = join(__dirname, '..', 'dist', 'gadget')): Promise<{ outDir: string; version: string; bundleBytes: number }> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(__dirname, 'src', 'index.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'fb24',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'edge100', 'safari15'],
    write: false,
    legalComments: 'none',
    // @xmpp/resolve imports node:dns even in the browser build (xmpp.js #1093, fixed upstream, unreleased).
    alias: { 'node:dns': join(__dirname, 'src', 'empty', 'dns.ts') },
  });
  const js = result.outputFiles[0]!.contents;
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  const hash = createHash('sha256').update(js).update(GADGET_CSS).digest('hex').slice(0, 10);
  const version = `${pkg.version}-${hash}`;
  writeFileSync(join(outDir, 'fb24.js'), js);
  writeFileSync(join(outDir, 'fb24.css'), GADGET_CSS.trim() + '\n');
  writeFileSync(
    join(outDir, GADGET_XML),
    `<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Bitrix24" description="Bitrix24 screen pop (finesse-bitrix24 ${version})">
    <Require feature="settitle"/>
    <Require feature="dynamic-height"/>
    <Require feature="pubsub-2"/>
    <Require feature="setprefs"/>
    <Require feature="loadingindicator">
      <Param name="manual-dismiss">false</Param>
      <Param name="loading-timeout">10</Param>
    </Require>
  </ModulePrefs>
  <UserPref name="scheme" datatype="hidden" default_value=""/>
  <UserPref name="host" datatype="hidden" default_value=""/>
  <UserPref name="hostPort" datatype="hidden" default_value=""/>
  <UserPref name="systemAuthMode" datatype="hidden" default_value=""/>
  <Content type="html"><![CDATA[
    <!DOCTYPE html>
    <link rel="stylesheet" href="fb24.css?v=${version}" type="text/css"/>
    <script src="fb24.js?v=${version}"></script>
    <body><div id="fb24-app"></div></body>
    <script>gadgets.HubSettings.onConnect = function () { fb24.startInDesktop(); };</script>
  ]]></Content>
</Module>
`,
  );
  writeFileSync(
    join(outDir, 'standalone.html'),
    `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Bitrix24 · Finesse</title>
<link rel="stylesheet" href="fb24.css?v=${version}">
<script src="fb24.js?v=${version}"></script>
</head><body><div id="fb24-app"></div><script>fb24.startStandalone();</script></body></html>
`,
  );
  return { outDir, version, bundleBytes: js.byteLength };
}

if (require.main === module) {
  buildGadget().then(
    (r) => console.log(`gadget ${r.version} → ${r.outDir} (fb24.js ${(r.bundleBytes / 1024).toFixed(1)} KB)`),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
