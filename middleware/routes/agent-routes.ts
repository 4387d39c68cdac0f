import type { StepInput } from '../trace/call-trace';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { AgentChannels, AgentIdentity, DialOutcome } from '../calls/agent-channels';
import type { CallJournal } from '../calls/call-log';
import { parseCallRecord } from '../calls/call-record';
import { basicUser, FinesseRefused } from '../finesse/finesse-users';
import type { FinesseSides } from '../finesse/finesse-sides';
import { SignInBudget } from '../finesse/sign-in-budget';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';
import { bearerToken } from '../secrets';
import type { SignedTokens } from '../signed-tokens';
import { AGENT_API_PREFIX, AGENT_ROUTES } from '../../protocol/agent-api';

/**
 * /api/agent/* — the gadget's session with the middleware. The gadget presents the agent's Finesse authorization
 * once; we check it with Finesse (GET User/{id}), keep nothing of it and give back a short-lived signed token. Over
 * that token the gadget listens for dial commands (server-sent events with heartbeats) and reports each dialog's
 * life and each command's outcome.
 */
export interface AgentRouteOptions {
  finesse: FinesseSides | null;
  tokens: SignedTokens;
  channels: AgentChannels;
  journal: CallJournal;
  /** The contact center's own numbers: a report of a call with one of them is refused (never a customer call). */
  internal?: { has(number: string): boolean; noteAgent(extension: string): void; refused(): void };
  log: Logger;
  /** The name of a CRM record, for the agent's gadget (cached by the caller). */
  recordName: (type: 'CONTACT' | 'LEAD' | 'COMPANY', id: number) => Promise<string>;
  heartbeatMs?: number;
  /** Finesse's lockout threshold (FINESSE_LOCKOUT_THRESHOLD). */
  lockoutThreshold?: number;
  /** Dialogs each agent's gadget popped, kept for a gadget loaded afresh on another origin (a Finesse failover). */
  popped: PoppedDialogs;
  /** Steps of calls for their traces: reports, and the gadget's pops and errors. */
  trace?: (step: StepInput) => void;
}

export interface PoppedDialogs {
  list(agentId: string): Promise<string[]>;
  add(agentId: string, dialogId: string): Promise<void>;
}

const OUTCOME_CODES = new Set(['agent_busy', 'finesse_refused']);
/** How many pops and errors one agent's gadgets may tell a minute. */
const EVENTS_PER_MINUTE = 60;
/** Finesse locks an account after 5 failed sign-ins: we stop passing guesses on well before that. */
const FAILURE_WINDOW_MS = 5 * 60_000;
export function agentRoutes(o: AgentRouteOptions): Router {
  const router = new Router({ prefix: AGENT_API_PREFIX });
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const failures = new Map<string, number[]>();
  const recentFailures = (account: string) => (failures.get(account) ?? []).filter((t) => Date.now() - t < FAILURE_WINDOW_MS);
  // Stop two refusals before Finesse's lockout (its threshold is configurable; 0 = no lockout: still bounded).
  const lockout = o.lockoutThreshold ?? 5;
  const maxFailures = lockout === 0 ? 5 : Math.max(1, lockout - 2);
  const forwarded = new SignInBudget();

  const agentOf = (ctx: Context): AgentIdentity => {
    const subject = o.tokens.verify(bearerToken(ctx) ?? '');
    if (subject === null) throw new HttpError(401, 'agent session: missing, forged or expired token; open a new session');
    return JSON.parse(subject) as AgentIdentity;
  };
  const body = (ctx: Context) => ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;

  router.post(AGENT_ROUTES.session, async (ctx) => {
    if (!o.finesse) throw new HttpError(503, 'agent session: FINESSE_URL is not configured (click-to-dial and call logging are off)');
    const agentId = body(ctx).agentId;
    if (typeof agentId !== 'string' || !/^[\w.@-]{1,64}$/.test(agentId)) throw new HttpError(400, 'agent session: "agentId" is missing or malformed');
    const authorization = ctx.get('authorization');
    if (!/^(Basic|Bearer) \S+$/.test(authorization)) throw new HttpError(401, "agent session: send the agent's Finesse authorization (Basic or Bearer)");
    // Finesse counts (and locks) failures per user of the credentials, not per the agent named in the body.
    const account = basicUser(authorization) ?? agentId;
    if (recentFailures(account).length >= maxFailures) {
      throw new HttpError(429, `agent session: ${maxFailures} refused sign-ins for ${account.slice(0, 64)} within 5 minutes; wait before trying again (Finesse would lock the account)`);
    }
    // A global bound too: no flood of sign-ins reaches Finesse, whoever sends them.
    if (!forwarded.take(account)) throw new HttpError(429, 'agent session: too many sign-ins right now; try again in a few seconds');
    let agent;
    try {
      agent = await o.finesse.signedInAgent(agentId, authorization);
    } catch (err) {
      if (err instanceof FinesseRefused) {
        if (err.status === 401) failures.set(account, [...recentFailures(account), Date.now()]);
        throw new HttpError(err.status === 409 ? 409 : err.status === 403 ? 403 : 401, `agent session: ${err.message}`);
      }
      throw new HttpError(503, `agent session: ${(err as Error).message}`);
    }
    failures.delete(account);
    forwarded.succeeded(account);
    const identity: AgentIdentity = { agentId: agent.agentId, extension: agent.extension };
    const { token, expiresAt } = o.tokens.issue(JSON.stringify(identity));
    o.log.info({ agentId: agent.agentId, extension: agent.extension }, 'agent session opened');
    o.internal?.noteAgent(agent.extension);
    ctx.body = { token, expiresAt, ...identity };
  });

  router.get(AGENT_ROUTES.commands, (ctx) => {
    const agent = agentOf(ctx);
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.respond = false;
    const res = ctx.res;
    // X-Accel-Buffering: nginx (docs/install.md's reverse proxy) must pass events through at once, not buffer them.
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no', ...corsHeaders(ctx) });
    const write = (text: string) => {
      if (!res.writableEnded) res.write(text);
    };
    const stream = o.channels.attach({ ...agent, send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`), end: () => res.end() });
    write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify(agent)}\n\n`);
    const beat = setInterval(() => write(': ping\n\n'), heartbeatMs);
    res.on('close', () => {
      clearInterval(beat);
      o.channels.detach(stream.id);
    });
  });

  router.get(AGENT_ROUTES.popped, async (ctx) => {
    ctx.body = { dialogIds: await o.popped.list(agentOf(ctx).agentId) };
  });
  router.post(AGENT_ROUTES.popped, async (ctx) => {
    const agent = agentOf(ctx);
    const dialogId = body(ctx).dialogId;
    if (typeof dialogId !== 'string' || !/^[\w.:-]{1,64}$/.test(dialogId)) throw new HttpError(400, 'popped: "dialogId" is missing or malformed');
    await o.popped.add(agent.agentId, dialogId);
    ctx.status = 204;
  });

  router.post(AGENT_ROUTES.dialResult, (ctx) => {
    const agent = agentOf(ctx);
    const b = body(ctx);
    if (typeof b.commandId !== 'string') throw new HttpError(400, 'dial result: "commandId" is missing');
    let outcome: DialOutcome;
    if (b.ok === true) outcome = { ok: true };
    else if (typeof b.code === 'string' && OUTCOME_CODES.has(b.code)) {
      const state = typeof b.state === 'string' && /^[A-Z_]{0,30}$/.test(b.state) ? b.state : undefined;
      outcome = { ok: false, code: b.code as 'agent_busy', reason: String(b.reason ?? '').slice(0, 300), ...(state !== undefined ? { state } : {}) };
    } else throw new HttpError(400, 'dial result: "ok" must be true, or "code" agent_busy / finesse_refused');
    if (!o.channels.settle(agent.agentId, b.commandId, outcome)) throw new HttpError(404, 'dial result: no such command waiting for this agent');
    ctx.status = 204;
  });

  // The name of the record a call opens, so the agent sees "Ivan Petrov", not CONTACT:42. Agents only; no search.
  router.get(AGENT_ROUTES.record, async (ctx) => {
    agentOf(ctx);
    const type = String(ctx.query.type ?? '').toUpperCase();
    const id = Number(ctx.query.id);
    if ((type !== 'CONTACT' && type !== 'LEAD' && type !== 'COMPANY') || !Number.isInteger(id) || id <= 0)
      throw new HttpError(400, 'record: "type" must be CONTACT, LEAD or COMPANY and "id" a positive whole number');
    let name = '';
    try {
      name = await o.recordName(type, id);
    } catch (err) {
      o.log.warn({ type, id, err }, 'record name not read from Bitrix24');
    }
    ctx.body = { type, id, name };
  });

  router.post(AGENT_ROUTES.calls, async (ctx) => {
    const agent = agentOf(ctx);
    // Stored before the answer: a store that cannot take it answers 503 and the gadget sends the report again.
    const report = parseCallRecord(body(ctx));
    if (o.internal?.has(report.number)) {
      o.internal.refused();
      throw new HttpError(
        400,
        `call report: ${report.number.slice(0, 40)} is one of the contact center's own numbers (an agent's extension or a Bitrix24 user's internal number): not a customer's call, not logged`,
      );
    }
    await o.journal.report(agent.agentId, agent.extension, report);
    o.trace?.({
      kind: 'report',
      outcome:
        report.endedAt === null ? (report.answeredAt === null ? 'ringing' : 'answered') : report.answeredAt === null ? `ended unanswered${report.failure ? ` (${report.failure})` : ''}` : 'ended',
      agent: agent.agentId,
      dialogId: report.dialogId,
      number: report.number,
      data: { direction: report.direction, extension: agent.extension, record: report.crmRef ?? undefined, partial: report.partial || undefined },
    });
    ctx.status = 202;
    ctx.body = { ok: true };
  });

  // The gadget's pops and errors, into the call's trace: small, and at most EVENTS_PER_MINUTE per agent (a gadget in
  // a loop must not fill the log).
  const recentEvents = new Map<string, number[]>();
  router.post(AGENT_ROUTES.events, (ctx) => {
    const agent = agentOf(ctx);
    const b = body(ctx);
    const now = Date.now();
    const times = (recentEvents.get(agent.agentId) ?? []).filter((t) => now - t < 60_000);
    if (times.length >= EVENTS_PER_MINUTE) throw new HttpError(429, `gadget events: at most ${EVENTS_PER_MINUTE} a minute per agent`);
    recentEvents.set(agent.agentId, [...times, now]);
    const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
    const dialogId = /^[\w.:-]{1,64}$/.test(text(b.dialogId, 64)) ? text(b.dialogId, 64) : null;
    if (b.kind === 'pop') {
      const outcome = ['opened', 'blocked', 'picker', 'none'].includes(String(b.outcome)) ? String(b.outcome) : null;
      if (!dialogId || !outcome) throw new HttpError(400, 'gadget event: a pop needs "dialogId" and "outcome" (opened, blocked, picker or none)');
      o.trace?.({ kind: 'pop', outcome, agent: agent.agentId, dialogId, number: text(b.number, 40) || null, data: { target: text(b.target, 80) || undefined, extension: agent.extension } });
    } else if (b.kind === 'error') {
      const message = text(b.message, 300);
      if (!message) throw new HttpError(400, 'gadget event: an error needs "message"');
      o.trace?.({ kind: 'gadget', outcome: 'error', agent: agent.agentId, dialogId, data: { message, extension: agent.extension } });
    } else throw new HttpError(400, 'gadget event: "kind" must be pop or error');
    ctx.status = 204;
  });

  return router;
}

/** The stream bypasses koa's response (and so @koa/cors): carry over the headers CORS already set. */
function corsHeaders(ctx: Context): Record<string, string> {
  const allow = ctx.response.get('Access-Control-Allow-Origin');
  return allow ? { 'Access-Control-Allow-Origin': String(allow), Vary: 'Origin' } : {};
}
