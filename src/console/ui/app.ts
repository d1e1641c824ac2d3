/**
 * The console's entry (loaded by the HTML shell as a module): routes by
 * location.pathname, opens the page's stream, and renders the page on every
 * update; says so when the stream drops or the API reports a problem (an
 * unknown id, a job forgotten).
 */
import { openStream } from './api.js';
import type { ApiError, ClusterAnswer, DatasetAnswer, DatasetsAnswer, FunctionAnswer, FunctionsAnswer, JobAnswer, JobsAnswer, Overview, ViewAnswer, ViewsAnswer } from './api-types.js';
import { h, morphChildren, type Child } from './dom.js';
import { formatTime } from './format.js';
import { clusterPage, overviewPage } from './page-cluster.js';
import { datasetPage, datasetsPage } from './page-datasets.js';
import { FunctionView, functionsPage } from './page-functions.js';
import { jobPage, jobsPage } from './page-jobs.js';
import { viewPage, viewsPage } from './page-views.js';
import { routeOf, type Route } from './routes.js';

const NAV: readonly (readonly [Route['section'], string, string])[] = [
  ['overview', '/', 'Overview'], ['cluster', '/cluster', 'Cluster'], ['jobs', '/jobs', 'Jobs'],
  ['datasets', '/datasets', 'Datasets'], ['views', '/views', 'Views'], ['functions', '/functions', 'Functions'],
];

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`The console's HTML shell has no #${id}`);
  return el;
}

function start(): void {
  const route = routeOf(window.location.pathname);
  const main = byId('main');
  const status = byId('live-status');
  const problem = byId('problem');
  const notice = byId('notice');
  const connection = byId('connection');
  byId('nav-links').replaceChildren(...NAV.map(([section, href, text]) =>
    h('a', { href, class: section === route.section ? 'active' : undefined, 'aria-current': section === route.section ? 'page' : undefined }, text)));

  const setProblem = (text: string): void => {
    problem.textContent = text;
    problem.hidden = text === '';
  };
  const notify = (text: string): void => {
    notice.textContent = text;
    notice.hidden = text === '';
  };
  if (route.kind === 'unknown') {
    document.title = 'Not found · Laminate';
    main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, `The console has no page at ${window.location.pathname}.`));
    status.textContent = '';
    return;
  }

  const functionView = route.kind === 'function' ? new FunctionView(route.id, () => rerender()) : undefined;
  let last: unknown;
  const render = (data: unknown): Child => {
    switch (route.kind) {
      case 'overview': return overviewPage(data as Overview);
      case 'cluster': return clusterPage(data as ClusterAnswer);
      case 'jobs': return jobsPage(data as JobsAnswer);
      case 'job': return jobPage(data as JobAnswer, notify);
      case 'datasets': return datasetsPage(data as DatasetsAnswer);
      case 'dataset': return datasetPage(data as DatasetAnswer);
      case 'views': return viewsPage(data as ViewsAnswer);
      case 'view': return viewPage(data as ViewAnswer, notify);
      case 'functions': return functionsPage(data as FunctionsAnswer);
      case 'function': return functionView!.render(data as FunctionAnswer, notify);
    }
  };
  function rerender(): void {
    if (last === undefined) return;
    try {
      morphChildren(main, h('div', {}, render(last)));
    } catch (err) {
      // An answer the page cannot draw (a field it expects is missing): said on the page, and logged for whoever debugs it.
      setProblem(`The console could not draw this page: ${(err as Error).message}`);
      console.error(err);
      return;
    }
    const at = (last as { at?: unknown }).at;
    status.textContent = typeof at === 'number' ? `live · ${formatTime(at).slice(11)} UTC` : 'live';
    status.className = 'live';
  }
  const title = { overview: 'Overview', cluster: 'Cluster', jobs: 'Jobs', datasets: 'Datasets', views: 'Views', functions: 'Functions' }[route.section as string] ?? '';
  document.title = `${route.id === '' ? title : route.id} · Laminate`;

  const stream = openStream<unknown>(route.apiPath, {
    update(data) {
      last = data;
      setProblem('');
      rerender();
    },
    problem(err: ApiError) {
      // The page keeps what it last showed (if anything) beneath the notice: a job forgotten stays readable.
      setProblem(err.message);
      if (last === undefined) main.replaceChildren(h('h1', {}, route.id), h('p', { class: 'empty' }, `${err.code}: ${err.message}`));
      status.textContent = 'problem';
      status.className = 'problem';
    },
    connection(up) {
      connection.hidden = up;
      if (up) return;
      status.textContent = 'disconnected';
      status.className = 'lost';
    },
  });
  // A page left for another must give its stream's connection back at once: the browser holds
  // six connections per host, and one kept open per page visited (the back-forward cache keeps
  // pages alive) stalls the seventh page's loads. A page restored from that cache reloads.
  window.addEventListener('pagehide', () => stream.close());
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted) window.location.reload();
  });
}

start();
