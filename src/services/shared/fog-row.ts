import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../../db/client';
import { fog } from '../../../db/schema/index';
import { ReusableSelect, renderOnce } from '../../../db/statements';

// Every column of `fog` (about 100): drizzle walks all of them to render this SELECT, which cost more
// than running it. The agent's pulls (GET /agent/config, GET /agent/microservices) read the row on
// every call, and a whole fleet does so at once after a Controller restart: rendered once. Every
// read of one fog row by uuid goes through here.
const byUuid = renderOnce((db) =>
  ReusableSelect.from(
    db
      .select()
      .from(fog)
      .where(eq(fog.uuid, sql.placeholder('uuid')))
      .limit(sql.placeholder('limit')),
  ),
);

/** The fog row with this uuid, every column, read through `db` (the database or an open transaction). */
export async function fogRowByUuid(db: Db, uuid: string): Promise<typeof fog.$inferSelect | undefined> {
  return (await byUuid(db).all(db, { uuid, limit: 1 }))[0];
}

/** The fog row with this name (names are unique), for lookups by name such as the `findAgent` template filter. */
export async function fogRowByName(db: Db, name: string): Promise<typeof fog.$inferSelect | undefined> {
  return (await db.select().from(fog).where(eq(fog.name, name)).limit(1))[0];
}
