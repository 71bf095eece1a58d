/**
 * The Controller's version, the one string every surface reports: `/status` and `/live`, the start-up
 * log, the Workers fallback liveness answer and the OpenAPI document's `info.version`. A unit test keeps
 * it equal to package.json's `version`.
 */
export const VERSION = '0.1.0';
