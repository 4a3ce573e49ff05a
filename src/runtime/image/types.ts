/**
 * Shapes of the image store: the persisted image record and the options of its methods.
 */

/** The subset of an image's runtime config (Docker's `config` object) that tsnet uses. */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
  /** Docker's HEALTHCHECK (durations in ns). */
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
    StartInterval?: number;
  };
  /** VOLUME destinations: anonymous volumes for every container of the image. */
  Volumes?: Record<string, object>;
  StopSignal?: string;
}

/** One image, as stored in `<root>/images/<hex of id>.json`. */
export interface ImageRecord {
  /** `sha256:<hex>` of the image config JSON. */
  id: string;
  /** Familiar `name:tag` references, e.g. `busybox:latest`, `localhost:5000/x:1`. */
  repoTags: string[];
  /** `name@sha256:<manifest digest>` of the registry manifests the image was pulled by. */
  repoDigests?: string[];
  /** RFC 3339. From the image config when it has one, else the time of the first import. */
  created: string;
  /** Bytes of file content in all layers. */
  size: number;
  /** Layer diff ids (`sha256:<hex>` of the uncompressed layer tar), bottom first. */
  layers: string[];
  config: ImageConfig;
  architecture: string;
  os: string;
}

export type ImportFormat = 'docker-save' | 'oci-layout' | 'rootfs';

export interface ImportOptions {
  /** Tag for the imported image (`name` means `name:latest`). Replaces a rootfs tarball's
   *  (absent) tags; is added to the tags a docker-save or OCI archive carries. */
  repoTag?: string;
  /** Cmd of the config generated for a rootfs tarball (ignored for other formats). */
  cmd?: string[];
}

export interface RemoveOptions {
  force?: boolean;
  /** Whether a container (running or not) uses the image. */
  inUse?: (imageId: string) => boolean;
}

export interface RemoveResult {
  /** Tags removed. */
  untagged: string[];
  /** Image id deleted first, then the diff ids of layers no image uses any more. */
  deleted: string[];
}
