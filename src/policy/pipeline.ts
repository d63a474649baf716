// The policy pipeline: runs the registered hooks of one stage in order and
// combines their verdicts into one StageOutcome (rules in types.ts). The
// session asks `has(stage)` first, so a server without hooks does no work.
// Also the `verdict` helpers hooks use to build answers.
import type { Logger } from '../log/logger.ts';
import { R, type Reply } from '../smtp/protocol/reply.ts';
import type { HookAnswer, PolicyHook, PolicyStage, ScoreRule, StageContext, StageOutcome, Verdict } from './types.ts';

/** Builders for verdicts; `reject` and `defer` check the reply class. */
export const verdict = {
  accept: (): Verdict => ({ kind: 'accept' }),
  reject(reply: Reply, reason: string): Verdict {
    if (reply.code < 500) throw new RangeError(`reject needs a 5xx reply, got ${reply.code}`);
    return { kind: 'reject', reply, reason };
  },
  defer(reply: Reply, reason: string): Verdict {
    if (reply.code < 400 || reply.code >= 500) throw new RangeError(`defer needs a 4xx reply, got ${reply.code}`);
    return { kind: 'defer', reply, reason };
  },
  headers: (...fields: string[]): Verdict => ({ kind: 'headers', fields }),
  removeHeaders: (match: (name: string, value: string) => boolean, reason: string): Verdict => ({ kind: 'removeHeaders', match, reason }),
  score: (...rules: ScoreRule[]): Verdict => ({ kind: 'score', rules }),
  folder: (folder: string, reason: string, recipients?: number[]): Verdict => ({ kind: 'folder', folder, reason, ...(recipients ? { recipients } : {}) }),
  note: (fields: Record<string, unknown>): Verdict => ({ kind: 'note', fields }),
};

/** The stage's context without `verdicts`, which the pipeline fills in. */
export type StageInput<S extends PolicyStage> = Omit<StageContext[S], 'verdicts' | 'stage'>;

export class PolicyPipeline {
  readonly #byStage: Record<PolicyStage, PolicyHook[]>;
  readonly #log: Logger;

  constructor(hooks: readonly PolicyHook[], log: Logger) {
    this.#log = log;
    this.#byStage = { connect: [], mail: [], rcpt: [], data: [] };
    for (const h of hooks) {
      for (const stage of ['connect', 'mail', 'rcpt', 'data'] as const) if (h[stage]) this.#byStage[stage].push(h);
    }
  }

  /** Is any hook registered for this stage? (If not, the session skips it.) */
  has(stage: PolicyStage): boolean {
    return this.#byStage[stage].length > 0;
  }

  /** Names of the hooks, in order, per stage (for logs and tests). */
  describe(): Record<PolicyStage, string[]> {
    const out = { connect: [], mail: [], rcpt: [], data: [] } as Record<PolicyStage, string[]>;
    for (const s of Object.keys(this.#byStage) as PolicyStage[]) out[s] = this.#byStage[s].map((h) => h.name);
    return out;
  }

  /** Runs the stage's hooks in order; never throws. */
  async run<S extends PolicyStage>(stage: S, input: StageInput<S>, log: Logger = this.#log): Promise<StageOutcome> {
    const out = emptyOutcome();
    for (const hook of this.#byStage[stage]) {
      if ((hook.scope ?? 'inbound') === 'inbound' && input.trust !== 'none') continue;
      const ctx = { ...input, stage, verdicts: out.verdicts.slice() } as unknown as StageContext[S];
      let answer: HookAnswer;
      try {
        const fn = hook[stage] as (c: StageContext[S]) => Promise<HookAnswer>;
        answer = await fn.call(hook, ctx);
      } catch (err) {
        log.error('policy hook failed', { hook: hook.name, stage, error: err });
        if ((hook.onError ?? 'defer') === 'continue') continue;
        answer = { kind: 'defer', reply: R.tempFailure, reason: 'policy check failed' };
      }
      const list = answer === undefined ? [] : Array.isArray(answer) ? answer : [answer];
      for (const v of list) {
        const tagged = { ...v, hook: hook.name } as Verdict;
        out.verdicts.push(tagged);
        if (apply(out, tagged, hook.name)) return out;
      }
    }
    return out;
  }
}

/** The outcome of a stage nobody objected to. */
export function emptyOutcome(): StageOutcome {
  return { action: 'accept', reply: null, decidedBy: null, reason: null, headers: [], removeHeaders: [], score: 0, rules: [], folders: new Map(), notes: {}, verdicts: [] };
}

/** Folds one verdict into the outcome; true when it ends the stage. */
function apply(out: StageOutcome, v: Verdict, hook: string): boolean {
  switch (v.kind) {
    case 'accept':
      return false;
    case 'reject':
    case 'defer':
      out.action = v.kind;
      out.reply = v.reply;
      out.decidedBy = hook;
      out.reason = v.reason;
      return true;
    case 'headers':
      out.headers.push(...v.fields.map(asField));
      return false;
    case 'removeHeaders':
      out.removeHeaders.push({ match: v.match, reason: v.reason, hook });
      return false;
    case 'score':
      for (const r of v.rules) {
        out.score += r.score;
        out.rules.push({ ...r, hook });
      }
      return false;
    case 'folder':
      // -1 stands for "all recipients"; a later choice for all overrides earlier per-recipient ones.
      if (!v.recipients) out.folders.clear();
      for (const i of v.recipients ?? [-1]) out.folders.set(i, { folder: v.folder, hook, reason: v.reason });
      return false;
    case 'note':
      Object.assign(out.notes, v.fields);
      return false;
  }
}

/** Ensures a header field ends with exactly one CRLF and has no bare CR/LF
 * outside folding (RFC 5322 §2.2: a field is one logical line, folded with CRLF WSP). */
function asField(f: string): string {
  const lines = f.replace(/\r?\n$/, '').split(/\r?\n/);
  return lines.map((l, i) => (i === 0 || /^[ \t]/.test(l) ? l : ' ' + l).replace(/\r/g, '')).join('\r\n') + '\r\n';
}

/** The folder for recipient `i`: its own choice, else the all-recipients one (-1), else null (INBOX). */
export function folderFor(out: StageOutcome, i: number): string | null {
  return out.folders.get(i)?.folder ?? out.folders.get(-1)?.folder ?? null;
}
