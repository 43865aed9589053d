/**
 * What a secret may be, shared by the spec schema, the controller's secret store
 * and the CLI (which must not load either just to check a name).
 */
/** A secret's value is at most this many bytes. */
export const MAX_SECRET_BYTES = 64 * 1024;
export const SECRET_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
export const SECRET_NAME_MESSAGE = "must be a secret name: lowercase letters, digits, '.', '_' and '-', 1-63 characters, starting and ending with a letter or digit";
