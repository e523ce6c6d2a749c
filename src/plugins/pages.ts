// Serves the clinic pages from client-demo/: one HTML shell per page and the browser bundles, built with
// esbuild on the first request and kept in memory, so start-up stays fast and `npm start` needs no build step.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

const CLIENT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../client-demo');

interface PageDef {
  path: string;
  entry: string;
  title: string;
  bodyClass?: string;
}

/** Every page: its URL, its script (client-demo/pages/<entry>.ts) and its title. */
export const PAGES: readonly PageDef[] = [
  { path: '/', entry: 'booking', title: 'Find a doctor' },
  { path: '/doctors/:id', entry: 'doctor-profile', title: 'Doctor' },
  { path: '/screen', entry: 'screen', title: 'Lobby screen', bodyClass: 'tv' },
  { path: '/t/:trackingToken', entry: 'track', title: 'Your place in the queue', bodyClass: 'phone' },
  { path: '/feedback/:token', entry: 'feedback', title: 'Your feedback', bodyClass: 'phone' },
  { path: '/me/appointments', entry: 'my-appointments', title: 'My appointments' },
  { path: '/doctor', entry: 'doctor-console', title: 'Doctor console' },
  { path: '/desk', entry: 'desk', title: 'Front desk' },
  { path: '/desk/schedule', entry: 'schedule', title: 'Schedule' },
  { path: '/reports', entry: 'reports', title: 'Reports' },
  { path: '/signin', entry: 'signin', title: 'Sign in' },
  { path: '/register', entry: 'signin', title: 'Create an account' },
  { path: '/forgot', entry: 'reset', title: 'Forgot password' },
  { path: '/reset', entry: 'reset', title: 'Choose a new password' },
  { path: '/admin', entry: 'admin', title: 'Admin' },
];

const ENTRIES = [...new Set(PAGES.map((p) => p.entry))];

interface Asset {
  body: string | Buffer;
  type: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ESCAPES[c]);

async function buildAssets(): Promise<Map<string, Asset>> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: CLIENT_DIR,
    entryPoints: ENTRIES.map((entry) => ({ in: join(CLIENT_DIR, 'pages', `${entry}.ts`), out: entry })),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outdir: '/assets',
    chunkNames: 'chunk-[hash]',
    write: false,
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    assets.set(file.path.slice('/assets/'.length), {
      body: file.text,
      type: 'text/javascript; charset=utf-8',
    });
  }
  assets.set('app.css', {
    body: await readFile(join(CLIENT_DIR, 'styles.css'), 'utf8'),
    type: 'text/css; charset=utf-8',
  });
  assets.set('icon.svg', {
    body: await readFile(join(CLIENT_DIR, 'icon.svg'), 'utf8'),
    type: 'image/svg+xml',
  });
  return assets;
}

async function pagesPlugin(app: FastifyInstance): Promise<void> {
  let assets: Promise<Map<string, Asset>> | null = null;
  let shell: Promise<string> | null = null;
  const loadAssets = () => {
    assets ??= buildAssets().catch((err) => {
      assets = null;
      throw err;
    });
    return assets;
  };
  const loadShell = () => {
    shell ??= readFile(join(CLIENT_DIR, 'shell.html'), 'utf8');
    return shell;
  };

  const sendPage = async (page: PageDef, reply: FastifyReply) => {
    const html = (await loadShell())
      .replaceAll('{{title}}', escapeHtml(page.title))
      .replaceAll('{{entry}}', page.entry)
      .replaceAll('{{bodyClass}}', page.bodyClass ?? '');
    // Warm the bundle while the browser parses the page.
    void loadAssets().catch(() => {});
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  };

  for (const page of PAGES) {
    app.get(page.path, { schema: { hide: true } }, async (_request, reply) => sendPage(page, reply));
  }

  app.get<{ Params: { file: string } }>(
    '/assets/:file',
    { schema: { hide: true } },
    async (request, reply) => {
      const asset = (await loadAssets()).get(request.params.file);
      if (!asset) return reply.callNotFound();
      return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
    },
  );

  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/assets/icon.svg'),
  );
}

export default fp(pagesPlugin, { name: 'pages' });
