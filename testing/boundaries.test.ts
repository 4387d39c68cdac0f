import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const ESLINT = join(ROOT, 'node_modules/eslint/bin/eslint.js');

/** What ESLint, with the repository's config, says about `code` placed at `file` (nothing is written to disk). */
function lint(file: string, code: string): Array<{ ruleId: string | null; message: string }> {
  const r = spawnSync(process.execPath, [ESLINT, '--stdin', '--stdin-filename', join(ROOT, file), '--format', 'json'], { cwd: ROOT, input: code, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`eslint failed to run: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>)[0]!.messages;
}

/**
 * The layering (eslint.config.mjs, CONTRIBUTING.md) fails the build on a wrong import: each planted import below is
 * caught with the rule that forbids it, and the same import where it is allowed is not.
 */
describe('import boundaries', () => {
  it.each([
    ['production code imports the lab', 'middleware/lookup/planted.ts', "import { startStack } from '../../scripts/lab/lab-stack';", 'no-restricted-imports'],
    ["production code imports the tests' harness", 'middleware/calls/planted.ts', "import { waitFor } from '../../testing/wait';", 'no-restricted-imports'],
    ['the middleware imports the gadget', 'middleware/routes/planted.ts', "import { classify } from '../../gadget/src/call-class';", 'no-restricted-imports'],
    ['the gadget imports the middleware', 'gadget/src/planted.ts', "import { Outbox } from '../../middleware/outbox';", 'no-restricted-imports'],
    ['the protocol module imports outside itself', 'protocol/planted.ts', "import { Outbox } from '../middleware/outbox';", 'no-restricted-imports'],
    ['an adapter imports a feature', 'middleware/bitrix24/planted.ts', "import { LookupService } from '../lookup/lookup-service';", 'no-restricted-imports'],
    ['the harness imports the lab', 'testing/planted.ts', "import { startStack } from '../scripts/lab/lab-stack';", 'no-restricted-imports'],
    // metrics.ts is imported by connector.ts: importing it back closes a cycle.
    ['an import cycle', 'middleware/metrics.ts', "import { Connector } from './connector';\nexport const planted = Connector;", 'import-x/no-cycle'],
  ])('%s is caught', (_what, file, code, rule) => {
    expect(lint(file, `${code}\n`).map((m) => m.ruleId)).toContain(rule);
  });

  it.each([
    ['a test imports the lab', 'middleware/lookup/planted.test.ts', "import { startStack } from '../../scripts/lab/lab-stack';\nexport const s = startStack;"],
    ['a route imports a feature', 'middleware/routes/planted.ts', "import { LookupService } from '../lookup/lookup-service';\nexport const s = LookupService;"],
    ['both sides import the protocol', 'gadget/src/planted.ts', "import { agentPath } from '../../protocol/agent-api';\nexport const s = agentPath;"],
  ])('%s is allowed', (_what, file, code) => {
    expect(lint(file, `${code}\n`)).toEqual([]);
  });
});
