import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fastify, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CSS } from '../../../src/console/app-css.js';
import { consoleRoutes, PAGE_URLS, SHELL_HTML } from '../../../src/console/pages.js';
import { removeDir, tempDir } from '../../integration/harness.js';

describe('console pages', () => {
  let dir: string;
  let app: FastifyInstance;
  const appJs = 'export const answer = 42;\n';

  beforeAll(async () => {
    dir = await tempDir('laminate-console-');
    const assets = join(dir, 'dist', 'ui');
    await mkdir(join(assets, 'sub'), { recursive: true });
    await writeFile(join(assets, 'app.js'), appJs);
    await writeFile(join(assets, 'page-jobs.js'), 'export {};\n');
    // Beside the assets: none of these is a module the page loads, so none is served.
    await writeFile(join(assets, 'notes.txt'), 'not an asset');
    await writeFile(join(assets, 'sub', 'deep.js'), 'export {};\n');
    await writeFile(join(assets, '.hidden.js'), 'export {};\n');
    await writeFile(join(dir, 'package.json'), '{"secret":true}');
    app = fastify();
    await app.register(consoleRoutes({ assetDir: assets }));
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await removeDir(dir);
  });

  it('answers the same HTML shell, with a strict content security policy, for every page URL', async () => {
    const urls = PAGE_URLS.map((u) => u.replace(':id', 'job-0001').replace(':name', 'clicks%20%3Cb%3E'));
    for (const url of urls) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toBe(SHELL_HTML);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
    }
    // The name in the URL never reaches the shell: the page reads it from location, as text.
    expect(SHELL_HTML).not.toContain('clicks');
  });

  it('serves the compiled modules and the stylesheet with their content types and an ETag that revalidates', async () => {
    const js = await app.inject({ url: '/ui/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe(appJs);
    expect(js.headers['cache-control']).toBe('no-cache');
    const etag = js.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ url: '/ui/app.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const other = await app.inject({ url: '/ui/page-jobs.js', headers: { 'if-none-match': etag } });
    expect(other.statusCode).toBe(200);
    expect(other.headers.etag).not.toBe(etag);
    const css = await app.inject({ url: '/ui/app.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toBe(APP_CSS);
  });

  it('serves nothing outside the ui folder, nor any file of it that is not a module', async () => {
    const refused = ['/ui/../../package.json', '/ui/..%2F..%2Fpackage.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/sub/deep.js', '/ui/notes.txt',
      '/ui/.hidden.js', '/ui/', '/ui/app.js%00.css', '/ui/APP.JS'];
    for (const url of refused) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('secret');
    }
  });
});
