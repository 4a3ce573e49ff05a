/** Request schemas of the /volumes routes. */
import { Type } from '@sinclair/typebox';
import { Opt, Query, QBool, QFilters, StringMap, Text } from './common.js';

/** A volume name as Docker's local driver takes it (checked again by the volume store). */
export const VolumeName = Type.String({
  maxLength: 255,
  pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$',
  hint: 'a volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 255 characters',
});

export const VolumeNameParams = Type.Object({ name: VolumeName });

export const VolumeCreateBody = Type.Object({
  // one pattern, not a union with '': a bad name's message names the rule, not "expected ''"
  Name: Opt(
    Type.String({
      maxLength: 255,
      pattern: '^([a-zA-Z0-9][a-zA-Z0-9_.-]+)?$',
      hint: 'a volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 255 characters (or empty: an anonymous volume)',
    }),
  ),
  Driver: Opt(Text({ maxLength: 255 })),
  DriverOpts: StringMap(),
  Labels: StringMap(),
});

export const VolumeListQuery = Query({ filters: QFilters });
export const VolumeRemoveQuery = Query({ force: QBool });
export const VolumePruneQuery = Query({ filters: QFilters });
