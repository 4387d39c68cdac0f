import type { Bitrix24Emulator } from './server';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const STYLE = `<style>body{font:14px system-ui,sans-serif;margin:0;color:#333;background:#eef2f4}header{background:#2fc6f6;color:#fff;padding:8px 16px}main{padding:16px 24px}label{display:block;margin:8px 0}input[type=text]{width:420px}.keys{background:#fff;padding:8px 12px;border:1px solid #ddd}.lab{background:#fff3cd;padding:4px 8px;display:inline-block}iframe{border:1px solid #ccc;width:100%;height:320px;background:#fff}</style>`;

/**
 * The portal's "Developer resources → Other → Local application" as an administrator meets it (b24restdocs
 * local-integrations/local-apps.md; the order of steps in docs/install): the form asks for the handler path, the
 * installation path and whether the application is script-only; the keys (client_id, client_secret) are shown only
 * once it is saved, and saving already opens the installation path — so the first install always runs before the
 * keys reach the application, and the administrator reinstalls once it is configured.
 */
export function renderLocalAppForm(handler: string, installPath: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Bitrix24 · Local application</title>${STYLE}</head><body>
<header>Bitrix24 (lab) · Developer resources · Local application / Локальное приложение</header><main>
<p class="lab">Bitrix24 emulator (lab) / Эмулятор Битрикс24 (лаборатория)</p>
<form method="post" action="/devops/save">
<label>Handler path / Путь вашего обработчика <input type="text" name="handler" value="${esc(handler)}"></label>
<label>Initial installation path / Путь для первоначальной установки <input type="text" name="install" value="${esc(installPath)}"></label>
<label><input type="checkbox" name="scriptOnly" value="Y"> Script only (no user interface) / Использует только API</label>
<p>Scopes / Права: crm, telephony, user, im, placement</p>
<button type="submit" id="save">Save / Сохранить</button></form></main></body></html>`;
}

/**
 * After saving (and on Reinstall): the keys, and the installation path opened in a frame as Bitrix24 opens it for an
 * application with an interface. The frame's BX24.installFinish() (the lab's BX24 stand-in, /lab/bx24.js) reaches
 * this page by postMessage; the installation is finished then, and only then does the portal deliver events.
 */
export function renderSavedApp(emu: Bitrix24Emulator, lang: string): string {
  const action = `${emu.installPath}?${new URLSearchParams({ DOMAIN: new URL(emu.url).host, PROTOCOL: '0', LANG: lang, APP_SID: 'install' })}`;
  const inputs = Object.entries(emu.installFrameForm(emu.admin))
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">`)
    .join('');
  const state = emu.installFinished ? 'finished' : 'pending';
  return `<!doctype html><html><head><meta charset="utf-8"><title>Bitrix24 · Local application saved</title>${STYLE}</head><body>
<header>Bitrix24 (lab) · Developer resources · Local application / Локальное приложение</header><main>
<p class="lab">Bitrix24 emulator (lab) / Эмулятор Битрикс24 (лаборатория)</p>
<div class="keys"><p>Application code (client_id) / Код приложения: <code id="client-id">${esc(emu.app.clientId)}</code></p>
<p>Application key (client_secret) / Ключ приложения: <code id="client-secret">${esc(emu.app.clientSecret)}</code></p></div>
<p>Installation / Установка: <b id="install-state" data-state="${state}">${state === 'finished' ? 'finished / завершена' : 'not finished / не завершена'}</b></p>
<form method="post" action="/devops/reinstall"><input type="hidden" name="lang" value="${esc(lang)}"><button type="submit" id="reinstall">Reinstall / Переустановить</button></form>
<iframe name="install" id="install"></iframe>
<form id="f" method="post" target="install" action="${esc(action)}">${inputs}</form>
<script>
document.getElementById('f').submit();
window.addEventListener('message', function (e) {
  if (e.data !== 'fb24-lab:installFinish') return;
  fetch('/_lab/install-finish', { method: 'POST' }).then(function () {
    var s = document.getElementById('install-state'); s.dataset.state = 'finished'; s.textContent = 'finished / завершена';
  });
});
</script></main></body></html>`;
}

/**
 * The lab's stand-in for Bitrix24's JS library (https://api.bitrix24.com/api/v1/) inside application frames: init
 * calls back at once; installFinish tells the portal page. The real library speaks its own postMessage protocol
 * with the portal; the lab's tests route the library's address here.
 */
export const BX24_STANDIN = `window.BX24 = {
  init: function (cb) { setTimeout(cb, 0); },
  installFinish: function () { parent.postMessage('fb24-lab:installFinish', '*'); },
  fitWindow: function () {}, resizeWindow: function () {}, openPath: function () {}
};`;
