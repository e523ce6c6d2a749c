import fp from 'fastify-plugin';
import type { DatabaseHandle } from '../db/connect.js';
import type { DB } from '../db/database.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: DB;
    dbKind: DatabaseHandle['kind'];
  }
}

export default fp<{ handle: DatabaseHandle }>(
  async (app, { handle }) => {
    app.decorate('db', handle.db);
    app.decorate('dbKind', handle.kind);
    app.addHook('onClose', async () => {
      await handle.db.destroy();
    });
  },
  { name: 'db' },
);
