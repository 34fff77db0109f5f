// Bundles the console into dist/ (served by `parley serve`, docs/console.md): one script and one
// stylesheet next to index.html, no inline code (the server's Content-Security-Policy forbids
// it). Run by scripts/bootstrap.sh after `npm ci`; `node build.mjs --if-stale` skips the work when
// dist/ is newer than every source file and the lock file.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, statSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const stamp = join(dist, 'index.html');

function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

if (process.argv.includes('--if-stale') && existsSync(stamp)) {
  const sources = Math.max(newest(join(here, 'src')), newest(join(here, 'package-lock.json')),
                           newest(join(here, 'build.mjs')));
  if (statSync(stamp).mtimeMs >= sources) {
    console.log('console: dist/ is up to date');
    process.exit(0);
  }
}

// Built beside dist/ and moved into place, so a server never sees half a bundle.
const staging = join(here, 'dist.tmp');
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
await build({
  entryPoints: { app: join(here, 'src/main.js') },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: staging,
  legalComments: 'linked',
  logLevel: 'warning',
});
await build({
  entryPoints: { app: join(here, 'src/console.css') },
  bundle: true,
  minify: true,
  outdir: staging,
  logLevel: 'warning',
});
copyFileSync(join(here, 'src/index.html'), join(staging, 'index.html'));
copyFileSync(join(here, 'src/favicon.svg'), join(staging, 'favicon.svg'));
rmSync(dist, { recursive: true, force: true });
renameSync(staging, dist);
console.log(`console: built ${dist}`);
