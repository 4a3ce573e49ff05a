import test from 'ava';
import { execStartExitCode } from '../../../src/runtime/container/exec-exit-code.js';

test("an exec start failure's exit code follows dockerd's reading of the error text", (t) => {
  t.is(execStartExitCode('exec: "nosuchcmd": executable file not found in $PATH', 127), 127);
  t.is(execStartExitCode('exec: "/x/y": no such file or directory', 127), 127);
  t.is(execStartExitCode('exec: "/etc/passwd/x": not a directory', 127), 127);
  t.is(execStartExitCode('exec: "/etc/passwd": permission denied', 126), 126);
  t.is(execStartExitCode('exec: "/etc": is a directory', 126), 126);
  // tsnet-init's setup failures (125) as dockerd: a missing cwd is "no such file" → 127
  t.is(execStartExitCode('chdir to cwd /nosuchdir: No such file or directory', 125), 127);
  t.is(execStartExitCode('chdir to cwd /root: Permission denied', 125), 126);
  // dockerd looks the user up before the runtime runs: exec's default, 126, whatever the text
  t.is(execStartExitCode('unable to find user nosuchuser: no matching entries in passwd file', 125), 126);
  t.is(execStartExitCode('unable to find group g: no matching entries in group file', 125), 126);
  // anything else the runtime says: dockerd's exitUnknown
  t.is(execStartExitCode('join cgroup: Device or resource busy', 125), 128);
  t.is(execStartExitCode('tsnet-init did not answer within 30000 ms'), 128);
});
