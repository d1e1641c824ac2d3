/**
 * The datasets list (`/datasets`) and a dataset's page (`/datasets/:name`):
 * partitions with their end offsets, records and bytes, and the append rate
 * drawn from the master's samples of the totals.
 */
import type { DatasetAnswer, DatasetsAnswer } from './api-types.js';
import { rateChart } from './charts.js';
import { facts, h, link, section, table, type Child } from './dom.js';
import { formatBytes, formatCount, formatCut, formatRate, formatTime } from './format.js';
import { pageHref } from './routes.js';

export function datasetsPage(d: DatasetsAnswer): Child {
  return [
    h('h1', {}, 'Datasets'),
    table(['Dataset', 'Partitions', 'Records', 'Bytes', 'Records/s', 'Bytes/s', 'End offsets', 'Created'],
      d.datasets.map((ds) => [
        link(pageHref('datasets', ds.name), ds.name), String(ds.partitions.length), formatCount(ds.records), formatBytes(ds.bytes),
        formatRate(ds.recordsPerSec), formatRate(ds.bytesPerSec, true), formatCut(ds.endOffsets), formatTime(ds.createdAt),
      ]), 'No dataset has been created.', { id: 'datasets' }),
  ];
}

export function datasetPage(d: DatasetAnswer): Child {
  const ds = d.dataset;
  return [
    h('h1', {}, `Dataset ${ds.name}`),
    facts([
      ['Records', formatCount(ds.records)],
      ['Bytes', formatBytes(ds.bytes)],
      ['Append rate (last minute)', `${formatRate(ds.recordsPerSec)}, ${formatRate(ds.bytesPerSec, true)}`],
      ['End offsets', formatCut(ds.endOffsets)],
      ['Created', formatTime(ds.createdAt)],
    ]),
    section('Append rate, records per second',
      h('div', { class: 'chart-box' }, rateChart(d.history.map((x) => ({ at: x.at, value: x.records })), false))),
    section('Append rate, bytes per second',
      h('div', { class: 'chart-box' }, rateChart(d.history.map((x) => ({ at: x.at, value: x.bytes })), true))),
    section('Partitions', table(['Partition', 'End offset', 'Segments', 'Records', 'Bytes'],
      ds.partitions.map((p) => [String(p.partition), formatCount(p.endOffset), String(p.segments), formatCount(p.records), formatBytes(p.bytes)]),
      'No partitions.', { id: 'partitions' })),
  ];
}
