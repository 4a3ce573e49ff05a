import { TsnetError } from '../../errors/index.js';

const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
};

/** `SIGKILL`, `KILL`, `kill` or `9` → 9. */
export function parseSignal(input: string | undefined, fallback = 9): number {
  if (input === undefined || input === '') return fallback;
  if (/^\d+$/.test(input)) {
    const n = Number(input);
    if (n >= 1 && n <= 64) return n;
  } else {
    const n = SIGNALS[input.toUpperCase().replace(/^SIG/, '')];
    if (n !== undefined) return n;
  }
  throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid signal: ${input} (use a name like SIGTERM or a number)`);
}
