/** Pulling images from OCI distribution (v2) registries. */
export { credentialsFrom, decodeRegistryAuth, type RegistryCredentials } from './auth.js';
export { InsecureRegistries } from './insecure.js';
export { Puller, type PullRequest, type PullResult } from './puller.js';
export type { ProgressMessage } from './progress.js';
export { parseRemoteReference, registryName, type RemoteReference } from './remote-reference.js';
