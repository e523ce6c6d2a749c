// Static scans of src/modules for the module boundaries (style.md "You should always know your room", issue
// 13 "Modules write only their own tables"): imports of another module's repository, and SQL that writes a
// table another module owns. Plain text analysis: no compiler, so it also reads raw `sql` templates.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const MODULES_DIR = join(ROOT, 'src/modules');

/** The day ledger writes the session day's aggregate, whatever table file declares it. */
export const DAY_MODULE = 'day';
export const DAY_TABLES = ['session_days', 'queue_events'] as const;
/** Columns of `appointments` that only the day ledger writes: the status and its timestamps, and the place in line. */
export const APPOINTMENT_STATUS_COLUMNS = [
  'status',
  'checked_in_at',
  'confirmed_at',
  'called_at',
  'completed_at',
  'skipped_at',
  'no_show_at',
  'cancelled_at',
  'cancel_reason',
  'position_key',
] as const;

export interface SourceFile {
  /** Path from the repository root, e.g. src/modules/queue/queue.service.ts. */
  path: string;
  module: string;
  text: string;
}

export const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

export function moduleFiles(): SourceFile[] {
  return walk(MODULES_DIR).map((file) => ({
    path: relative(ROOT, file),
    module: relative(MODULES_DIR, file).split('/')[0],
    text: readFileSync(file, 'utf8'),
  }));
}

/** Comments removed (a comment that names a table is not a write). */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

// ---- imports ----

export interface ImportViolation {
  file: string;
  imports: string;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** Every import of another module's *.repository.ts (type-only imports included: they couple the same way). */
export function repositoryImports(files: SourceFile[]): ImportViolation[] {
  const found: ImportViolation[] = [];
  for (const f of files) {
    for (const match of stripComments(f.text).matchAll(IMPORT)) {
      const spec = match[1];
      if (!spec.startsWith('.')) continue;
      const target = relative(MODULES_DIR, resolve(ROOT, dirname(f.path), spec));
      if (target.startsWith('..')) continue;
      const targetModule = target.split('/')[0];
      if (targetModule !== f.module && /\.repository\.(js|ts)$/.test(target))
        found.push({ file: f.path, imports: `src/modules/${target.replace(/\.js$/, '.ts')}` });
    }
  }
  return found;
}

// ---- table writes ----

/** Table (snake_case) → owning module, from each module's `export interface …Tables { … }` in *.table.ts. */
export function tableOwners(files: SourceFile[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const f of files.filter((x) => x.path.endsWith('.table.ts'))) {
    for (const block of f.text.matchAll(/export interface \w+Tables\b[^{]*\{([^}]*)\}/g))
      for (const key of block[1].matchAll(/^\s*(\w+)\s*:/gm)) owners.set(snake(key[1]), f.module);
  }
  for (const t of DAY_TABLES) owners.set(t, DAY_MODULE);
  return owners;
}

export type WriteKind = 'insert' | 'update' | 'delete';

export interface TableWrite {
  file: string;
  module: string;
  table: string;
  kind: WriteKind;
  /** The text of the SET part of an update (for the appointments status columns). */
  set: string;
}

const KYSELY_WRITE =
  /\.(insertInto|updateTable|deleteFrom|mergeInto)\(\s*['"`]([A-Za-z_]\w*)(?:\s+as\s+\w+)?['"`]/g;
const KYSELY_KIND: Record<string, WriteKind> = {
  insertInto: 'insert',
  mergeInto: 'insert',
  updateTable: 'update',
  deleteFrom: 'delete',
};
const RAW_INSERT = /\binsert\s+into\s+([a-z_][a-z0-9_]*)/gi;
const RAW_DELETE = /\bdelete\s+from\s+([a-z_][a-z0-9_]*)/gi;
// `for update …` and `on conflict … do update set` are not updates of a named table.
const RAW_UPDATE =
  /(?<!\bfor\s+)(?<!\bdo\s+)\bupdate\s+([a-z_][a-z0-9_]*)(?:\s+(?:as\s+)?(?!set\b)[a-z_]\w*)?\s+set\b/gi;

/** Every write to a known table in `files`, by Kysely's builders or by raw SQL text. */
export function tableWrites(files: SourceFile[], known: ReadonlySet<string>): TableWrite[] {
  const writes: TableWrite[] = [];
  for (const f of files) {
    const text = stripComments(f.text);
    for (const m of text.matchAll(KYSELY_WRITE)) {
      const table = snake(m[2]);
      if (!known.has(table)) continue;
      const rest = text.slice((m.index ?? 0) + m[0].length);
      const end = rest.search(/\.(execute\w*|compile|stream)\(|;/);
      const statement = end < 0 ? rest : rest.slice(0, end);
      const set = /\.set\(/.test(statement)
        ? statement.slice(statement.indexOf('.set(')).split(/\.(where|returning|from)\w*\(/)[0]
        : '';
      writes.push({ file: f.path, module: f.module, table, kind: KYSELY_KIND[m[1]], set });
    }
    for (const [re, kind] of [
      [RAW_INSERT, 'insert'],
      [RAW_DELETE, 'delete'],
      [RAW_UPDATE, 'update'],
    ] as const) {
      for (const m of text.matchAll(re)) {
        const table = m[1].toLowerCase();
        if (!known.has(table)) continue;
        const rest = text.slice((m.index ?? 0) + m[0].length);
        const set = kind === 'update' ? rest.split(/\b(where|from|returning)\b|`/i)[0] : '';
        writes.push({ file: f.path, module: f.module, table, kind, set });
      }
    }
  }
  return writes;
}

/** The status columns an update's SET part names. */
export function statusColumnsSet(set: string): string[] {
  const text = snake(set);
  return APPOINTMENT_STATUS_COLUMNS.filter((c) => new RegExp(`\\b${c}\\b\\s*[:=]|['"]${c}['"]`).test(text));
}

export interface WriteViolation {
  file: string;
  table: string;
  kind: WriteKind;
  owner: string;
  /** For appointments: the status columns written outside the day ledger. */
  columns?: string[];
}

/**
 * Writes to a table another module owns. `appointments` is the appointments module's, except that its rows
 * are inserted and deleted, and its status columns written, only by the day ledger.
 */
export function foreignWrites(writes: TableWrite[], owners: Map<string, string>): WriteViolation[] {
  const out: WriteViolation[] = [];
  for (const w of writes) {
    const owner = owners.get(w.table);
    if (!owner) continue;
    if (w.table === 'appointments') {
      if (w.module === DAY_MODULE) continue;
      if (w.kind !== 'update') {
        out.push({ file: w.file, table: w.table, kind: w.kind, owner: DAY_MODULE });
        continue;
      }
      const columns = statusColumnsSet(w.set);
      if (columns.length > 0)
        out.push({ file: w.file, table: w.table, kind: w.kind, owner: DAY_MODULE, columns });
      else if (w.module !== owner) out.push({ file: w.file, table: w.table, kind: w.kind, owner });
      continue;
    }
    if (w.module !== owner) out.push({ file: w.file, table: w.table, kind: w.kind, owner });
  }
  return out;
}

/** One line per violation, stable across runs (no line numbers, so unrelated edits do not churn it). */
export function describeWrite(v: WriteViolation): string {
  const cols = v.columns ? ` (${v.columns.join(', ')})` : '';
  return `${v.file} ${v.kind}s ${v.table}${cols}, owned by ${v.owner}`;
}

export function describeImport(v: ImportViolation): string {
  return `${v.file} imports ${v.imports}`;
}
