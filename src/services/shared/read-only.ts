import type { z } from '@hono/zod-openapi';
import { invalid } from '../../errors';

/**
 * Update bodies take back what the matching GET answered: a console edits the object it read and sends it
 * whole. Fields the server owns (ids, stamps, status) are accepted there and ignored.
 */
export const readOnly = <T extends z.ZodType>(schema: T) =>
  schema.optional().openapi({ description: 'Read-only: accepted so a GET body can be sent back unchanged, and ignored' });

/** The identity in an update body, when sent, must be the one in the path: an update never renames by accident. */
export function samePathName(field: string, sent: string | undefined, inPath: string): void {
  if (sent !== undefined && sent !== inPath) throw invalid(`${field}: must equal the name in the path (${inPath})`);
}
