import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { buildGadget } from '../../gadget/build';
import { launchChromium } from '../../scripts/lab/browser';
import { startLabServer } from '../../scripts/lab/lab-server';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { runMarker } from '../../testing/node-process';
import { waitFor } from '../../testing/wait';

const ROOT = join(__dirname, '../..');

/** `npm run trace -- <query> --lang en` with the middleware's configuration: what an operator runs. */
function traceCommand(query: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/trace.ts'), query, '--lang', 'en'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...runMarker(), ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

/** The kinds of the timeline's step lines, in order ("2026-12-08 10:00:00.000  lookup    found  …"). */
const kinds = (out: string) => [...out.matchAll(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}(\w+)/gm)].map((m) => m[1]);

// A hang guard, not a timing goal: a call answered, talked and finished through Chromium on a loaded machine.
jest.setTimeout(180_000);

/** One call, one trace (docs/operations.md "Following a call"): a call made from the lab page, followed by `trace`. */
describe('following a call from UCCX to the CRM card', () => {
  let stack: Stack;
  let lab: Awaited<ReturnType<typeof startLabServer>>;
  let browser: Browser | null = null;
  let context: BrowserContext;
  beforeAll(async () => {
    const gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir }, env: { LOOKUP_DEADLINE_MS: '20000' } });
    lab = await startLabServer(stack, 0);
  });
  afterAll(async () => {
    await browser?.close();
    lab.server.close();
    await stack.stop();
  });
  const call = async (ani: string) =>
    (await (await fetch(`${lab.url}/api/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ani }) })).json()) as {
      callId: string;
      ringing: { agent: string; dialogId: string } | null;
    };
  const traced = async (query: string, kind: string) =>
    waitFor(async () => ((await stack.connector.trace.find(query)).some((s) => s.kind === kind) ? true : null), 60_000, `a ${kind} step of ${query}`);

  it('lookup, pop, report, register and finish in order with their ids; then a call with Bitrix24 down and one with no gadget, each said where it stopped', async () => {
    ({ browser, context } = await launchChromium());
    const page = await context.newPage();
    await page.goto(stack.finesse!.desktopUrl('1001'));
    await page.frameLocator('#gadget').locator('.fb24-state[data-status=connected]').waitFor();

    // 1. A known caller: the lookup routes to Ivan (1021), his gadget pops the card, the call is logged and finished.
    const popup = context.waitForEvent('page');
    const first = await call('89123456789');
    expect(first.ringing).toMatchObject({ agent: '1001' });
    await popup;
    const dialogId = first.ringing!.dialogId;
    const registered = await waitFor(() => stack.emulator.calls.find((c) => c.EXTERNAL_CALL_ID.includes(dialogId)) ?? null, 60_000, 'the call registered');
    await waitFor(async () => ((await stack.connector.trace.find(dialogId)).some((s) => s.outcome === 'answered') ? true : null), 60_000, 'the call answered');
    stack.finesse!.endAll(); // the agent hangs up
    await waitFor(() => registered.finished, 60_000, 'the call finished in Bitrix24');
    await traced(dialogId, 'finish');
    const byNumber = await traceCommand('89123456789', stack.env);
    expect(byNumber.code).toBe(0);
    // The gadget's reports (ringing, ended) come as the call goes; the rest in this order.
    expect(kinds(byNumber.out).filter((k) => k !== 'report')).toEqual(['lookup', 'pop', 'register', 'finish']);
    expect(kinds(byNumber.out).filter((k) => k === 'report').length).toBeGreaterThanOrEqual(2); // ringing, answered, ended
    expect(byNumber.out).toMatch(new RegExp(`lookup +found +number=\\+79123456789 +callId=${first.callId} +from=uccx +route=agent +extension=1021 +record=CONTACT:42 .*restCalls=\\d+`));
    expect(byNumber.out).toMatch(new RegExp(`pop +opened +number=\\+79123456789 +agent=1001 +dialogId=${dialogId} +target=CONTACT:42`));
    expect(byNumber.out).toMatch(new RegExp(`register +ok .*dialogId=${dialogId} +CALL_ID=${registered.CALL_ID.replace(/\./g, '\\.')}`));
    expect(byNumber.out).toMatch(new RegExp(`finish +ok .*CALL_ID=${registered.CALL_ID.replace(/\./g, '\\.')} .*statusCode=200`));
    expect(byNumber.out).toContain('The call is in Bitrix24: registered and finished.');
    // The same call from Bitrix24's CALL_ID, and from UCCX's call id (the lookup alone carries it).
    expect(kinds((await traceCommand(registered.CALL_ID, stack.env)).out)).toEqual(kinds(byNumber.out));

    // 2. Bitrix24 goes down during the call: the call's finish is retried, and the trace says where it stopped.
    const second = await call('88125551122');
    const secondDialog = second.ringing!.dialogId;
    await traced(secondDialog, 'pop');
    await waitFor(async () => ((await stack.connector.trace.find(secondDialog)).some((s) => s.kind === 'register' && s.outcome === 'ok') ? true : null), 60_000, 'registered');
    stack.emulator.switches.outage = 'error';
    try {
      stack.finesse!.endAll();
      await waitFor(async () => ((await stack.connector.trace.find(secondDialog)).some((s) => s.kind === 'finish' && s.outcome.startsWith('retry')) ? true : null), 60_000, 'a finish retried');
      const down = await traceCommand(secondDialog, stack.env);
      expect(down.out).toMatch(/finish +retry in \d+ s: /);
      expect(down.out).toMatch(/Stopped at: finish — retry in \d+ s: /);
    } finally {
      stack.emulator.switches.outage = 'none';
    }

    // 3. The gadget closed: the lookup routed the call to the agent, and nothing after it.
    await browser.close();
    browser = null;
    const third = await call('89123456789');
    const closed = await traceCommand(third.callId, stack.env);
    expect(kinds(closed.out)).toEqual(['lookup']);
    expect(closed.out).toContain('The lookup answered, but no gadget reported a pop');
    stack.finesse!.endAll();

    // The same for an operator over HTTP (a bearer token of ours), and on the page inside Bitrix24 (ru).
    expect((await fetch(`${stack.url}/api/trace?q=${third.callId}`)).status).toBe(401);
    const json = (await (await fetch(`${stack.url}/api/trace?q=${dialogId}&lang=en`, { headers: { authorization: `Bearer ${stack.env.UCCX_LOOKUP_TOKEN}` } })).json()) as {
      summary: string;
      steps: Array<{ kind: string }>;
    };
    expect(json.summary).toBe('The call is in Bitrix24: registered and finished.');
    expect(json.steps.map((x) => x.kind).filter((k) => k !== 'report')).toEqual(['lookup', 'pop', 'register', 'finish']);
    // Bitrix24 is back: the finish goes through on its next try.
    await waitFor(async () => ((await stack.connector.trace.find(secondDialog)).some((s) => s.kind === 'finish' && s.outcome === 'ok') ? true : null), 60_000, 'the retried finish done');
    const session = stack.connector.pageSessions.issue(2);
    const html = await (await fetch(`${stack.url}/bitrix/app/trace?${new URLSearchParams({ s: session, lang: 'ru', q: secondDialog })}`)).text();
    // The retry and the finish that followed it are both on the page.
    expect(html).toContain('<td>завершение в Битрикс24</td><td>retry in 1 s: telephony.externalCall.finish: INTERNAL_SERVER_ERROR');
    expect(html).toContain('Звонок в Битрикс24: зарегистрирован и завершён.');
    expect(html).toContain('<td>карточка у оператора</td><td>opened</td>');
  });
});
