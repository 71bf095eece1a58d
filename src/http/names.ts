import { z } from '@hono/zod-openapi';

/**
 * The one rule every user-chosen name passes (fogs, applications, microservices, NATS rules,
 * catalog items, secrets, config maps, …), on top of any stricter per-resource pattern:
 * - no control characters (C0, DEL, C1: NUL truncates in C code and some stores, ESC drives terminals,
 *   CR/LF forge log lines and YAML) and no bidirectional-formatting characters (they make a name read
 *   differently from what it is);
 * - no lone UTF-16 surrogates (not text: they cannot be encoded as UTF-8 and break JSON consumers);
 * - no path separators and not `.` or `..` (names end up in file names, URLs and secret paths).
 * Spaces and other printable Unicode stay allowed where the resource allowed them (fog names do).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is what this rule is for
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `name` breaks the shared rule, or undefined when it passes. */
export function nameProblem(name: string): string | undefined {
  if (CONTROL.test(name)) return 'must not contain control or bidirectional-formatting characters';
  if (LONE_SURROGATE.test(name)) return 'must be valid Unicode text (no lone surrogates)';
  if (name.includes('/') || name.includes('\\')) return 'must not contain "/" or "\\"';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  return undefined;
}

/** A user-chosen name: 1–`max` characters that pass the shared rule. Chain `.regex()` for a stricter one. */
export const safeName = (max = 255) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((v, ctx) => {
      const problem = nameProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/**
 * The strict rule of Kubernetes-like objects (secrets, config maps, volume-mount sources): letters,
 * digits, ".", "_" and "-", starting and ending with a letter or digit.
 */
export const ObjectName = safeName(255).regex(
  /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/,
  'must be letters, digits, ".", "_" and "-", starting and ending with a letter or digit',
);
