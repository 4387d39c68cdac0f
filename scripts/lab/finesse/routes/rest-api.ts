import Router from '@koa/router';
import type Koa from 'koa';
import { dialogXml } from '../finesse-xml';
import { apiFail, LAB_ADMIN, type FinesseEmulator, type LabAgent } from '../finesse-emulator';

/** The request body as text (Finesse's REST API takes XML). */
async function readBody(ctx: Koa.Context): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`, 'i').exec(xml)?.[1]?.trim();

/**
 * Finesse's REST API as the gadget and the middleware use it (Finesse developer guide: SystemInfo, User, Dialogs,
 * Dialog): Basic authentication per agent, the documented error bodies, UCCX's rules for MAKE_CALL.
 */
export function restApiRoutes(f: FinesseEmulator): Router {
  const router = new Router();
  /** The agent the request acts for ({id} in the URL), if the credentials are that agent's (else answered 401). */
  const actingAgent = (ctx: Koa.Context, id: string): LabAgent | null => {
    const me = f.signedIn(ctx.get('authorization'));
    if (!me) {
      apiFail(ctx, 401, 'Authorization Failure', 'Unauthorized', id);
      return null;
    }
    if (me.id !== id) {
      apiFail(ctx, 401, 'Invalid Authorization User Specified', 'The authenticated user and the user in the URI differ', me.id);
      return null;
    }
    return me;
  };
  router.get('/finesse/api/SystemInfo', (ctx) => {
    ctx.type = 'application/xml';
    ctx.body = f.systemInfoXml(f.sideOf(ctx.req));
  });
  router.get('/finesse/api/User/:id', (ctx) => {
    f.userReads += 1;
    // Finesse lets an administrator read any User (Finesse developer guide, User — Get User): the lab's "admin" does.
    const [user, pass] = Buffer.from((/^Basic (.+)$/.exec(ctx.get('authorization')) ?? [])[1] ?? '', 'base64')
      .toString()
      .split(':');
    const read = user === LAB_ADMIN.id && pass === LAB_ADMIN.password ? f.agents.find((a) => a.id === ctx.params.id) : undefined;
    const agent = read ?? actingAgent(ctx, ctx.params.id!);
    if (!agent) return;
    ctx.type = 'application/xml';
    ctx.body = f.userXml(agent);
  });
  router.put('/finesse/api/User/:id', async (ctx) => {
    const agent = actingAgent(ctx, ctx.params.id!);
    if (!agent) return;
    const state = tag(await readBody(ctx), 'state') ?? '';
    if (!['READY', 'NOT_READY', 'LOGOUT'].includes(state)) return apiFail(ctx, 400, 'Invalid Input', `Invalid state: ${state}`);
    f.setState(agent.id, state);
    ctx.status = 202;
  });
  router.post('/finesse/api/User/:id/Dialogs', async (ctx) => {
    const agent = actingAgent(ctx, ctx.params.id!);
    if (!agent) return;
    const xml = await readBody(ctx);
    const action = tag(xml, 'requestedAction');
    const from = tag(xml, 'fromAddress');
    const to = tag(xml, 'toAddress');
    if (!action || !from || !to) return apiFail(ctx, 400, 'Parameter Missing', 'requestedAction, fromAddress and toAddress are required');
    if (action !== 'MAKE_CALL') return apiFail(ctx, 400, 'Invalid Input', `Invalid requestedAction: ${action}`);
    if (/<mediaProperties[\s/>]/i.test(xml)) return apiFail(ctx, 400, 'Invalid Input', 'mediaProperties are not supported on UCCX');
    if (from !== agent.extension) return apiFail(ctx, 400, 'Invalid Input', 'fromAddress is not the extension the user is signed in to');
    if (to === from) return apiFail(ctx, 400, 'Invalid Destination', 'toAddress equals fromAddress');
    // UCCX dials only from NOT_READY (Finesse developer guide, Make a Call; the exact error is undocumented).
    if ((f.states.get(agent.id) ?? 'NOT_READY') !== 'NOT_READY') return apiFail(ctx, 400, 'Invalid State', `Agent must be NOT_READY to make a call (is ${f.states.get(agent.id)})`);
    f.makeCalls.push({ agent: agent.id, toAddress: to, at: Date.now(), side: f.sideOf(ctx.req) });
    ctx.set('requestId', ctx.get('requestId'));
    ctx.status = 202;
    f.dialOut(agent, to, ctx.get('requestId'));
  });
  router.put('/finesse/api/Dialog/:id', async (ctx) => {
    const me = f.signedIn(ctx.get('authorization'));
    if (!me) return apiFail(ctx, 401, 'Authorization Failure', 'Unauthorized');
    const d = f.live.get(me.id)?.get(ctx.params.id!);
    if (!d) return apiFail(ctx, 404, 'Not Found', `Dialog ${ctx.params.id} not found`);
    const action = tag(await readBody(ctx), 'requestedAction');
    const mine = (d.participants ?? []).find((p) => p.address === me.extension);
    if (action === 'DROP' && mine && ['ACTIVE', 'INITIATED', 'ALERTING', 'FAILED', 'HELD'].includes(mine.state)) {
      ctx.status = 202;
      f.hangUp(me, d);
      return;
    }
    if (action === 'ANSWER' && mine?.state === 'ALERTING') {
      ctx.status = 202;
      f.put(me, { ...d, state: 'ACTIVE', participants: (d.participants ?? []).map((p) => ({ ...p, state: 'ACTIVE', actions: undefined })) }, 'PUT');
      return;
    }
    apiFail(ctx, 400, 'Invalid State', `${action ?? 'no action'} is not allowed in the participant's state`);
  });
  router.get('/finesse/api/User/:id/Dialogs', (ctx) => {
    const agent = actingAgent(ctx, ctx.params.id!);
    if (!agent) return;
    ctx.type = 'application/xml';
    ctx.body = `<Dialogs>${f
      .liveDialogs(agent.id)
      .map((d) => dialogXml(d))
      .join('')}</Dialogs>`;
  });
  return router;
}
