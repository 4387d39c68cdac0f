import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { seedConfig } from '../../testing/ccdr-stand-in';
import { LAB_STATS_TOKEN, startStack } from '../lab/lab-stack';
import { f, pct, verdict } from './stats';

/**
 * The live queues under a supervisors' morning: 50 statistics pages open in Bitrix24 (each asks every second, as the
 * page does) and 10 wallboards on /api/stats/live (each every second), for a minute, while "UCCX" writes its
 * real-time snapshot every 5 s (a new number of waiting calls each time). Measured: the statements sent to db_cra
 * (goal: one read — two statements — per interval, whatever the viewers), the live JSON's answer time (goal p99 ≤ 5 ms,
 * from memory), and how long after UCCX's write each page has the new number (goal ≤ interval + 2 s), in the worst phase.
 */
const INTERVAL_S = 5;
const DURATION_MS = Number(process.env.BENCH_LIVE_SECONDS ?? 60) * 1000;
const PAGES = 50;
const WALLBOARDS = 10;
const POLL_MS = 1000;

export async function liveBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'live-bench-'));
  const path = join(dir, 'db_cra.sqlite');
  const seed = new SqliteCcdrSource(path, { writable: true });
  seedConfig(seed.db);
  await seed.close();
  const db = new Database(path);
  const written = new Map<number, number>(); // callswaiting value → when UCCX wrote it
  let value = 0;
  const write = () => {
    value += 1;
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    db.prepare('DELETE FROM rtcsqssummary').run();
    db.prepare(`INSERT INTO rtcsqssummary (csqname, loggedinagents, availableagents, callswaiting, oldestcontact, startdatetime, enddatetime) VALUES ('Sales', 5, 2, ?, 12000, ?, ?)`).run(
      value,
      now,
      now,
    );
    db.prepare('DELETE FROM rticdstatistics').run();
    db.prepare(`INSERT INTO rticdstatistics (type, totalcsqs, loggedinagents, callswaiting, startdatetime, enddatetime) VALUES ('Voice', 1, 5, ?, ?, ?)`).run(value, now, now);
    written.set(value, Date.now());
  };
  write();
  let writer: NodeJS.Timeout | undefined;
  const stack = await startStack({
    mode: 'app',
    env: { CCDR_SQLITE_PATH: path, STATS_API_TOKEN: LAB_STATS_TOKEN, STATS_ALLOWED_USERS: '2', LIVE_INTERVAL_S: String(INTERVAL_S), LOG_LEVEL: 'silent' },
  });
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: PAGES + WALLBOARDS });
  try {
    const form = new URLSearchParams(stack.emulator.frameForm(2)).toString();
    const html = await (
      await undiciFetch(`${stack.url}/bitrix/app?LANG=ru`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, dispatcher: agent })
    ).text();
    const pageUrl = `${stack.url}${/"url":"(\/bitrix\/app\/live\.json\?s=[^"]+)"/.exec(html)![1]!}`;
    const statements = async () => Number(/^uccx_live_statements_total (\d+)/m.exec(await (await undiciFetch(`${stack.url}/metrics`, { dispatcher: agent })).text())?.[1] ?? NaN);
    // The worst phase for a viewer: UCCX writes just after each of the middleware's reads (300 ms after its first),
    // so a new number waits almost a whole interval in db_cra before it is read.
    for (let i = 0; i < 200 && !(await statements()); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    write();
    writer = setInterval(write, INTERVAL_S * 1000);
    const before = await statements();
    const t0 = Date.now();
    const lat: number[] = [];
    const delays: number[] = [];
    const viewer = async (url: string, headers: Record<string, string>, track: boolean, offset: number) => {
      const seen = new Set<number>();
      await new Promise((r) => setTimeout(r, offset));
      while (Date.now() - t0 < DURATION_MS) {
        const next = Date.now() + POLL_MS;
        const s = performance.now();
        const body = (await (await undiciFetch(url, { headers, dispatcher: agent })).json()) as { queues: Array<{ waiting: number }> };
        lat.push(performance.now() - s);
        const v = body.queues[0]?.waiting;
        if (track && v !== undefined && !seen.has(v)) {
          seen.add(v);
          const at = written.get(v);
          if (at !== undefined && at >= t0) delays.push(Date.now() - at);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
    };
    await Promise.all([
      ...Array.from({ length: PAGES }, (_, i) => viewer(pageUrl, {}, true, (i * POLL_MS) / PAGES)),
      ...Array.from({ length: WALLBOARDS }, (_, i) => viewer(`${stack.url}/api/stats/live`, { authorization: `Bearer ${LAB_STATS_TOKEN}` }, false, (i * POLL_MS) / WALLBOARDS)),
    ]);
    const seconds = (Date.now() - t0) / 1000;
    const sent = (await statements()) - before;
    const intervals = seconds / INTERVAL_S;
    const reads = sent / 2;
    const p99 = pct(lat, 99);
    const worst = Math.max(...delays);
    console.log(`\n16. Live queues: ${PAGES} statistics pages + ${WALLBOARDS} wallboards asking every second for ${Math.round(seconds)} s, UCCX writing every ${INTERVAL_S} s`);
    console.log(
      `   db_cra: ${sent} statements = ${reads} reads in ${f(intervals)} intervals (${f(reads / intervals)} per interval; goal ≤ 1 read per interval whatever the viewers: ${verdict(reads <= Math.ceil(intervals) + 1)}); today's service level adds one CSQ report a minute`,
    );
    console.log(`   live JSON: ${lat.length} answers, p50 ${f(pct(lat, 50))} ms  p99 ${f(p99)} ms  max ${f(Math.max(...lat))} ms   (goal p99 ≤ 5 ms: ${verdict(p99 <= 5)})`);
    console.log(
      `   UCCX's write → on each page: ${delays.length} sightings, p50 ${f(pct(delays, 50) / 1000)} s  max ${f(worst / 1000)} s   (goal ≤ interval + 2 s = ${INTERVAL_S + 2} s: ${verdict(worst <= (INTERVAL_S + 2) * 1000)})`,
    );
  } finally {
    if (writer) clearInterval(writer);
    await agent.close();
    await stack.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  liveBench().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
