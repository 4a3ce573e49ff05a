/** A container's mount, resolved at create (Docker's `Mounts` entry in inspect plus what start needs). */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (volume mounts). */
  Name?: string;
  /** Host path: the bind source, or the volume's mountpoint; '' for tmpfs. */
  Source: string;
  Destination: string;
  Driver?: string;
  /** The mode text as given (`ro`, `z`, …), '' when none. */
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** tmpfs: mount data (size=…,mode=…). */
  TmpfsOptions?: string;
  /** volume: do not copy the image's content into an empty volume. */
  NoCopy?: boolean;
  /** bind from -v/Binds: a missing source is created (HostConfig.Mounts binds must exist). */
  CreateSource?: boolean;
  /** volume made for this container only (`-v /path`, image VOLUME): removed by `rm -v`. */
  Anonymous?: boolean;
  /** volume: mount only this path inside it (VolumeOptions.Subpath, lexically local; resolved at start). */
  Subpath?: string;
}

/** A local volume's record: `<root>/volumes/<name>/volume.json`. */
export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  CreatedAt: string;
  Labels: Record<string, string>;
  /** Driver options: type, o, device (Docker's local driver). */
  Options: Record<string, string>;
  Anonymous?: boolean;
}
