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

/** One step of an image's history (its config's `history`, as Docker writes it). */
export interface ImageHistory {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** The step made no layer (ENV, CMD, …). */
  empty_layer?: boolean;
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
  /** The image a `commit` was made from (its id): Docker's local `Parent`. */
  parent?: string;
  /** `commit -m` / `import -m`. */
  comment?: string;
  /** `commit -a`. */
  author?: string;
  /** Its config's history, oldest first (absent in records of tsnet before `history`). */
  history?: ImageHistory[];
}

export type ImportFormat = 'docker-save' | 'oci-layout' | 'rootfs';

export interface ImportOptions {
  /** Tag for the imported image (`name` means `name:latest`). Replaces a rootfs tarball's
   *  (absent) tags; is added to the tags a docker-save or OCI archive carries. */
  repoTag?: string;
  /** Cmd of the config generated for a rootfs tarball (ignored for other formats). */
  cmd?: string[];
  /** Dockerfile instructions applied to a rootfs tarball's config (`import --change`). */
  changes?: string[];
  /** The image's comment (`import --message`; rootfs tarballs only). */
  comment?: string;
}

/** What `ImageStore.commit` makes an image of. */
export interface CommitOptions {
  /** The image the container runs (the new image's layers are its layers plus one). */
  parent: ImageRecord;
  /** The container's changes as a layer tar (Docker's form: `.wh.` whiteouts). */
  layer: () => AsyncIterable<Buffer>;
  /** The new image's runtime config. */
  config: ImageConfig;
  /** The container's id (in the image config, as Docker writes it). */
  container: string;
  /** The container's command, the history step's `created_by` (as Docker's commit). */
  createdBy?: string;
  repoTag?: string;
  comment?: string;
  author?: string;
}

export interface RemoveOptions {
  force?: boolean;
  /** Keep untagged parents that the removal leaves without children (Docker's `noprune`). */
  noprune?: boolean;
  /** Whether a container (running or not) uses the image. */
  inUse?: (imageId: string) => boolean;
}

export interface RemoveResult {
  /** Tags removed. */
  untagged: string[];
  /** Image id deleted first, then the diff ids of layers no image uses any more. */
  deleted: string[];
}
