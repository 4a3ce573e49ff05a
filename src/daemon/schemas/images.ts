/** Request schemas of the /images routes. */
import { Type } from '@sinclair/typebox';
import { Opt, Query, QBool, QFilters, Text } from './common.js';

const Reference = Text({ maxLength: 1024, hint: 'an image reference without control characters' });

export const ImageListQuery = Query({ all: QBool, filters: QFilters, digests: QBool, 'shared-size': QBool });
export const ImageCreateQuery = Query({
  fromSrc: Text({ maxLength: 4096 }),
  fromImage: Reference,
  repo: Reference,
  tag: Text({ maxLength: 128 }),
  message: Text({ maxLength: 4096 }),
  platform: Text({ maxLength: 256 }),
  changes: Text({ maxLength: 4096 }),
});
/** `POST /commit` (`changes` may repeat: one Dockerfile instruction each). */
export const CommitQuery = Query({
  container: Text({ minLength: 1, maxLength: 512 }),
  repo: Reference,
  tag: Text({ maxLength: 128 }),
  comment: Text({ maxLength: 4096 }),
  author: Text({ maxLength: 1024 }),
  pause: QBool,
  changes: Text({ maxLength: 4096 }),
});
export const ImageLoadQuery = Query({ quiet: QBool });
export const ImageTagQuery = Query({ repo: Reference, tag: Text({ maxLength: 128 }) });
export const ImageRemoveQuery = Query({ force: QBool, noprune: QBool });
export const ImageNameParams = Type.Object({ name: Reference });
export const NoBody = Opt(Type.Object({}));

const Credential = Opt(Text({ maxLength: 16 * 1024 }));
/** POST /auth: what `docker login` sends (checked against the registry, never stored by the daemon). */
export const AuthBody = Type.Object(
  {
    username: Credential,
    password: Credential,
    auth: Credential,
    email: Credential,
    serveraddress: Credential,
    identitytoken: Credential,
    registrytoken: Credential,
  },
  { additionalProperties: false },
);
