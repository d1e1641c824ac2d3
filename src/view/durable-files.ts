/**
 * The durable-write steps of the view store, for the layers that may reach
 * storage only through view/ (serving, speed): see src/storage/atomic-file.ts.
 */
export { syncFolder, writeFileAtomic, type AtomicWriteStep } from '../storage/atomic-file.js';
