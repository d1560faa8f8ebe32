/**
 * The files the page is made of, read once at start-up and served by the dashboard itself: the page's own
 * (web/dashboard/ in the package) and uPlot's browser build from node_modules. Nothing comes from a CDN,
 * so the page works offline and shows no one else what is being looked at.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packageRoot } from '../cli/version.js';

export interface Asset {
  type: string;
  body: Buffer;
}

/** URL path → file: the page's own files, and the chart library under /vendor/. */
const PAGE_FILES: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'],
  '/dashboard.css': ['dashboard.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
};
const VENDOR_FILES: Record<string, [module: string, type: string]> = {
  '/vendor/uPlot.iife.min.js': ['uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': ['uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

export function loadAssets(): Map<string, Asset> {
  const root = packageRoot();
  if (root === undefined) throw new Error('mailbox-radar: cannot find the package folder (web/dashboard/)');
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(PAGE_FILES))
    assets.set(path, { type, body: readFileSync(new URL(`web/dashboard/${file}`, root)) });
  for (const [path, [module, type]] of Object.entries(VENDOR_FILES))
    assets.set(path, { type, body: readFileSync(require.resolve(module)) });
  return assets;
}
