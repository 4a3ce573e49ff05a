/**
 * `commit`: the config of an image made from a container, and the container's upper dir as its
 * new layer. As dockerd: the request's config (the body, then `--change` instructions on it) is
 * the base, and what it leaves unset comes from the container's config — env and labels by key,
 * exposed ports and volumes as a union, the command only when neither Cmd nor Entrypoint was
 * given, the healthcheck field by field. The changes' `$VAR`s are expanded from the request's
 * Env, or from the container's when the request has no config (dockerd: a null or empty body).
 */
import fs from 'node:fs';
import type { XattrReader } from '../../kernel/xattr.js';
import { applyChanges } from '../image/dockerfile-changes.js';
import type { ImageConfig } from '../image/types.js';
import { isMountPlaceholder } from './archive/changes.js';
import { contentsTar, type LayerForm } from './archive/tar-out.js';
import type { ContainerConfig } from './types.js';

/** The image config of a commit: `user` (the request's config) with `changes` applied, then filled from the container's. */
export function commitConfig(
  user: ImageConfig,
  changes: readonly string[],
  container: ContainerConfig,
  parent: ImageConfig,
): ImageConfig {
  const u = applyChanges(user, changes, Object.keys(user).length > 0 ? (user.Env ?? []) : container.Env);
  const from: ImageConfig = {
    Env: container.Env,
    Cmd: container.Cmd,
    ...(container.Entrypoint ? { Entrypoint: container.Entrypoint } : {}),
    WorkingDir: container.WorkingDir,
    User: container.User,
    ExposedPorts: container.ExposedPorts ?? {},
    Labels: container.Labels,
    Volumes: { ...(parent.Volumes ?? {}), ...(container.Volumes ?? {}) },
    ...(container.StopSignal ? { StopSignal: container.StopSignal } : {}),
    ...(container.Healthcheck
      ? { Healthcheck: { ...container.Healthcheck, Test: container.Healthcheck.Test ?? undefined } }
      : {}),
  };
  const out: ImageConfig = { ...u };
  if (!u.User) out.User = from.User ?? '';
  out.ExposedPorts = { ...(from.ExposedPorts ?? {}), ...(u.ExposedPorts ?? {}) };
  const userKeys = new Set((u.Env ?? []).map((e) => e.split('=', 1)[0]));
  out.Env = [...(u.Env ?? []), ...(from.Env ?? []).filter((e) => !userKeys.has(e.split('=', 1)[0]))];
  out.Labels = { ...(from.Labels ?? {}), ...(u.Labels ?? {}) };
  if (!u.Entrypoint?.length && !u.Cmd?.length) {
    if (from.Cmd?.length) out.Cmd = from.Cmd;
    else delete out.Cmd;
    if (from.Entrypoint?.length) out.Entrypoint = from.Entrypoint;
    else delete out.Entrypoint;
  }
  if (from.Healthcheck) out.Healthcheck = u.Healthcheck ? { ...from.Healthcheck, ...u.Healthcheck } : from.Healthcheck;
  if (!u.WorkingDir) out.WorkingDir = from.WorkingDir ?? '';
  out.Volumes = { ...(from.Volumes ?? {}), ...(u.Volumes ?? {}) };
  if (!u.StopSignal && from.StopSignal) out.StopSignal = from.StopSignal;
  for (const k of ['ExposedPorts', 'Labels', 'Volumes'] as const) if (Object.keys(out[k] ?? {}).length === 0) delete out[k];
  return out;
}

/** The overlayfs form of tsnet's upper dirs: opaque dirs by xattr, tsnet-init's mount points left out (as in `changes`). */
export function upperDirForm(xattr: XattrReader): LayerForm {
  return {
    isOpaque: (fd) => xattr.get(fd, 'trusted.overlay.opaque')?.toString() === 'y',
    skip: (name, st) => isMountPlaceholder(`/${name}`, st),
  };
}

/** The container's upper dir as a layer tar (opened once, read through its fd; file capabilities kept). */
export async function* upperLayer(upper: string, xattr: XattrReader, form: LayerForm): AsyncGenerator<Buffer> {
  const fd = fs.openSync(upper, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    yield* contentsTar(`/proc/self/fd/${fd}`, xattr, form);
  } finally {
    fs.closeSync(fd);
  }
}
