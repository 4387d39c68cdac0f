import Router from '@koa/router';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { renderDesktop, SHINDIG_STANDIN } from '../desktop-page';
import type { FinesseEmulator, Listener, SideName } from '../finesse-emulator';
import { gadgetInstances } from '../shipped-layout';

/**
 * What a Finesse node serves around the API: the agent desktop (our gadget placed as the shipped layout places it),
 * the Shindig stand-in that renders the gadget, the gadget's files (3rdpartygadget) and the lab's event stream that
 * plays the desktop's notification relay.
 */
export function desktopHostRoutes(f: FinesseEmulator): Router {
  const router = new Router();
  router.get('/desktop', (ctx) => {
    const agent = f.agents.find((a) => a.id === ctx.query.agent) ?? f.agents[0]!;
    const lang = ctx.query.lang === 'en' ? 'en' : 'ru';
    // Each side serves its own desktop and gadgets (Shindig on that node).
    const side = f.sideOf(ctx.req);
    const origin = f.gadgetOriginOf(side);
    // Our gadget as many times as the shipped layout places it, each with its own parameters; the lab's addresses
    // (and the desktop URL's own parameters, for tests) over them.
    const overrides = Object.fromEntries(
      Object.entries(ctx.query)
        .filter(([k]) => !['agent', 'lang'].includes(k))
        .map(([k, v]) => [k, String(v)]),
    );
    const frames = gadgetInstances('Agent').map((shipped) => {
      const gadget = new URL(`${origin}/3rdpartygadget/files/fb24/FinesseBitrix24.xml`);
      gadget.search = new URLSearchParams({ ...Object.fromEntries(shipped), middleware: f.config.middlewareUrl, crm: f.config.crmUrl, ...overrides }).toString();
      return `${origin}/gadgets/ifr?${new URLSearchParams({ url: gadget.toString(), agent: agent.id, lang })}`;
    });
    const other: SideName = side === 'A' ? 'B' : 'A';
    const alternate = f.twoSides ? { side: other, url: `${f.sideUrl(other)}${ctx.url}` } : null;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderDesktop(
      agent,
      lang,
      f.states.get(agent.id) ?? 'NOT_READY',
      f.liveDialogs(agent.id).map((d) => d.id),
      frames,
      { side, alternate },
    );
  });
  router.get('/lab/events', (ctx) => {
    const agentId = String(ctx.query.agent ?? '');
    ctx.request.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    ctx.status = 200;
    const res = ctx.res;
    res.flushHeaders();
    res.write(': connected\n\n');
    // A desktop hears its own side: nothing of the calls while that side is out of service.
    const side = f.sideOf(ctx.req);
    const listener: Listener = (e) => {
      if ('node' in e && !f.inService[side]) return;
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    };
    const set = f.listeners.get(agentId) ?? new Set();
    set.add(listener);
    f.listeners.set(agentId, set);
    ctx.respond = false;
    res.on('close', () => set.delete(listener));
  });
  // Shindig stand-in: renders the gadget XML's content with a hub client, as the desktop's container would.
  router.get('/gadgets/ifr', (ctx) => {
    const gadgetUrl = new URL(String(ctx.query.url ?? ''));
    const agent = f.agents.find((a) => a.id === ctx.query.agent) ?? f.agents[0]!;
    const xml = readFileSync(join(f.gadgetDir, 'FinesseBitrix24.xml'), 'utf8');
    const content = /<!\[CDATA\[([\s\S]*?)\]\]>/.exec(xml)?.[1] ?? '';
    const side = f.sideOf(ctx.req);
    const prefs = {
      id: agent.id,
      extension: agent.extension,
      authorization: Buffer.from(`${agent.id}:${agent.password}`).toString('base64'),
      locale: ctx.query.lang === 'en' ? 'en_US' : 'ru_RU',
      scheme: 'http',
      host: new URL(f.gadgetOriginOf(side)).hostname,
      hostPort: new URL(f.gadgetOriginOf(side)).port,
    };
    const base = new URL('.', gadgetUrl).toString();
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = `<!DOCTYPE html><html><head><base href="${base}"><script>window.__LAB_PREFS=${JSON.stringify(prefs)};window.__LAB_PARENT=${JSON.stringify(f.sideUrl(side))};</script><script>${SHINDIG_STANDIN}</script></head>${content.replace('<!DOCTYPE html>', '')}</html>`;
  });
  router.get('/3rdpartygadget/files/fb24/:file', (ctx) => {
    const file = normalize(String(ctx.params.file));
    const path = join(f.gadgetDir, file);
    if (file.includes('..') || !existsSync(path)) return;
    ctx.type = extname(path) === '.xml' ? 'application/xml' : extname(path);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = readFileSync(path);
  });
  return router;
}
