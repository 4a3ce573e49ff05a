/** Schemas of /containers/{id}/update, /changes, /archive and the prune routes. */
import { Type } from '@sinclair/typebox';
import { Opt, QBool, QFilters, Query, Text } from './common.js';

const Int = Type.Integer();

/** Docker's UpdateConfig: Resources plus RestartPolicy (fields tsnet does not apply are ignored). */
export const ContainerUpdateBody = Type.Object({
  BlkioWeight: Opt(Type.Integer({ minimum: 0, maximum: 1000, hint: 'a weight from 10 to 1000' })),
  CpuShares: Opt(Int),
  CpuPeriod: Opt(Int),
  CpuQuota: Opt(Int),
  CpusetCpus: Opt(Text({ maxLength: 256 })),
  CpusetMems: Opt(Text({ maxLength: 256 })),
  Memory: Opt(Int),
  MemoryReservation: Opt(Int),
  MemorySwap: Opt(Int),
  NanoCpus: Opt(Int),
  PidsLimit: Opt(Int),
  RestartPolicy: Opt(
    Type.Object({
      Name: Opt(
        Type.String({
          pattern: '^(|no|always|unless-stopped|on-failure)$',
          hint: 'one of no, always, unless-stopped, on-failure',
        }),
      ),
      MaximumRetryCount: Opt(Int),
    }),
  ),
});

/** A path inside a container: absolute or relative to /, no NUL, at most 4096 bytes. */
const ContainerPath = Type.String({
  minLength: 1,
  maxLength: 4096,
  pattern: '^[^\\x00]+$',
  hint: 'a path inside the container without NUL characters',
});

export const ArchiveQuery = Query({ path: ContainerPath });
export const ArchivePutQuery = Query({ path: ContainerPath, noOverwriteDirNonDir: QBool, copyUIDGID: QBool });
export const PruneQuery = Query({ filters: QFilters });
