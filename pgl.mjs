import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

let t = Date.now();
const db = await PGlite.create({ extensions: { pg_trgm, citext } });
console.log('create', Date.now() - t);
await db.exec(
  'create extension if not exists pg_trgm; create extension if not exists citext; create table t(id int8, n numeric, c citext)',
);
await db.query('insert into t values ($1,$2,$3)', [1, '2.5', 'AbC']);
const r = await db.query('select id, n, c, count(*) over () as cnt, now() as ts from t where c = $1', [
  'abc',
]);
console.log(r, typeof r.rows[0].id);
t = Date.now();
const dump = await db.dumpDataDir('none');
console.log('dump', Date.now() - t, dump.size);
t = Date.now();
const db2 = await PGlite.create({ loadDataDir: dump, extensions: { pg_trgm, citext } });
console.log('load', Date.now() - t, (await db2.query('select * from t')).rows);
