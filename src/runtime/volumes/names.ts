/** Volume names as Docker's local driver takes them; paths are built only from checked names. */
import { TsnetError } from '../../errors/index.js';

export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export const MAX_VOLUME_NAME = 255;

export function checkVolumeName(name: string): void {
  if (!VOLUME_NAME.test(name) || name.length > MAX_VOLUME_NAME)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `invalid volume name "${name.slice(0, 80)}": only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed (at least 2 characters); to mount a host directory, give an absolute path`,
    );
}
