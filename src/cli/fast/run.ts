/** Run a command the fast path parsed: load its module, build the context, map the result to an exit code. */
import { COMMANDS } from '../commands/index.js';
import { createContext, type Context, type ContextIo } from '../context.js';
import type { CommandRunner } from '../define/shared.js';
import { reportFailure } from '../report.js';
import type { Parsed } from './argv.js';

export async function runParsed(p: Parsed, io?: ContextIo): Promise<number> {
  let ctx: Context | undefined;
  let code: number;
  try {
    const load = COMMANDS[p.module];
    if (!load) throw new Error(`internal: no command module ${p.module}`);
    const mod = (await load()) as { default: CommandRunner };
    ctx = createContext(p.host, io);
    const r = await mod.default(ctx, p.args, p.opts);
    code = typeof r === 'number' ? r : 0;
  } catch (err) {
    code = reportFailure(err, io);
  }
  await ctx?.drain();
  return code;
}
