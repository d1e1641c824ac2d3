/**
 * Which page a URL shows, and which API path feeds it: the client routes by
 * location.pathname (the server answers the same HTML shell for each of
 * these, src/console/pages.ts). Pure, so the unit tests check it in Node.
 */

export type PageKind = 'overview' | 'cluster' | 'jobs' | 'job' | 'datasets' | 'dataset' | 'views' | 'view' | 'functions' | 'function' | 'unknown';

export interface Route {
  readonly kind: PageKind;
  /** The job id, dataset, view or function name of a detail page (decoded); '' otherwise. */
  readonly id: string;
  /** The API path whose stream feeds the page ('' for an unknown URL). */
  readonly apiPath: string;
  /** The nav entry to highlight. */
  readonly section: 'overview' | 'cluster' | 'jobs' | 'datasets' | 'views' | 'functions' | '';
}

const LISTS = { cluster: 'cluster', jobs: 'jobs', datasets: 'datasets', views: 'views', functions: 'functions' } as const;
const DETAILS = { jobs: 'job', datasets: 'dataset', views: 'view', functions: 'function' } as const;

/** The route of a pathname ("/jobs/job-0001"); a trailing slash is ignored. */
export function routeOf(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts.length === 0) return { kind: 'overview', id: '', apiPath: '/api/overview', section: 'overview' };
  const [first, second, ...rest] = parts;
  if (rest.length > 0 || first === undefined) return unknown();
  if (second === undefined) {
    if (!Object.hasOwn(LISTS, first)) return unknown();
    const kind = LISTS[first as keyof typeof LISTS];
    return { kind, id: '', apiPath: `/api/${first}`, section: kind };
  }
  if (!Object.hasOwn(DETAILS, first)) return unknown();
  let id: string;
  try {
    id = decodeURIComponent(second);
  } catch {
    return unknown();
  }
  const section = first as keyof typeof DETAILS;
  return { kind: DETAILS[section], id, apiPath: `/api/${first}/${encodeURIComponent(id)}`, section };
}

function unknown(): Route {
  return { kind: 'unknown', id: '', apiPath: '', section: '' };
}

/** The console URL of a detail page: `/jobs/<id>` with the id escaped. */
export function pageHref(section: 'jobs' | 'datasets' | 'views' | 'functions', id: string): string {
  return `/${section}/${encodeURIComponent(id)}`;
}

/** The stream URL a page opens for its API path. */
export function streamUrl(apiPath: string): string {
  return `/api/stream?path=${encodeURIComponent(apiPath)}`;
}
