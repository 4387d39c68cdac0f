import qs from 'qs';
import type { Params } from './methods';
import { RestError } from './portal';

/**
 * `batch` as b24restdocs describe it (api-reference/how-to-call-rest-api/batch.md): at most 50 commands, each a
 * method and its query, run in order; `$result[name]...` takes a value from an earlier command; `halt=1` stops at the
 * first error; a nested batch is refused; each section is PHP's empty array when empty.
 */
export function runBatch(p: Params, call: (method: string, p: Params) => unknown): Params {
  const cmd = (p.cmd ?? {}) as Record<string, string>;
  const entries = Object.entries(cmd);
  if (entries.length > 50) throw new RestError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded');
  const result: Record<string, unknown> = {};
  const errors: Record<string, unknown> = {};
  const times: Record<string, unknown> = {};
  for (const [key, line] of entries) {
    const [m, query = ''] = String(line).split('?', 2) as [string, string?];
    if (m === 'batch') {
      errors[key] = { error: 'ERROR_BATCH_METHOD_NOT_ALLOWED', error_description: 'Method is not allowed for batch usage' };
      continue;
    }
    try {
      // $result[name][i][FIELD]: a value from an earlier command's result (b24restdocs: batch.md).
      const resolved = query.replace(/\$result((?:\[[^\]]*\])+)/g, (_all, path: string) => {
        let v: unknown = result;
        for (const k of [...path.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
        return v === undefined || v === null ? '' : encodeURIComponent(String(v));
      });
      result[key] = call(m, qs.parse(resolved, { depth: 10, arrayLimit: 1000 }) as Params);
      times[key] = { start: Date.now() / 1000, duration: 0 };
    } catch (err) {
      if (!(err instanceof RestError)) throw err;
      errors[key] = { error: err.code, error_description: err.description };
      if (Number(p.halt) === 1) break;
    }
  }
  // PHP serialises an empty map as [], not {}.
  const section = (o: Record<string, unknown>) => (Object.keys(o).length ? o : []);
  return { result: section(result), result_error: section(errors), result_total: [], result_next: [], result_time: section(times) };
}
