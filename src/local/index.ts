/**
 * The embedded cluster, an entry of its own so that `laminate/client` does not
 * pull in the master and the worker: `import { LocalCluster } from 'laminate/local'`.
 */
export { LocalCluster } from './local-cluster.js';
export type { LocalClusterOptions } from './local-cluster.js';
