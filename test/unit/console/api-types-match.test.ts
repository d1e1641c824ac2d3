/**
 * The browser code restates the API's shapes (src/console/ui/api-types.ts:
 * it may import nothing outside its folder); this file makes the compiler
 * hold the restatement to the server's shapes. Each line fails `tsc` (the
 * first step of `npm test`) when a field the pages read is renamed, dropped
 * or changes type on the server side; the pages may read fewer fields than
 * the server sends. The checks are the compiler's: at run time they do nothing.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type * as UI from '../../../src/console/ui/api-types.js';
import type { DatasetSummary, Overview, ViewDetail } from '../../../src/console/api-shapes.js';
import type { TotalsSample } from '../../../src/console/dataset-rates.js';
import type { FunctionLogLine, FunctionSummary, FunctionVersionInfo } from '../../../src/common/function-shapes.js';
import type { JobStatus, WorkerStatus } from '../../../src/common/job-status.js';
import type { SpeedStatus } from '../../../src/common/speed-status.js';
import type { ServingNodeInfo, ViewInfo } from '../../../src/common/view-shapes.js';

type At<T> = T & { readonly at: number };

describe('the pages\' restated API shapes', () => {
  it('are what the server answers', () => {
    expectTypeOf<At<Overview>>().toMatchTypeOf<UI.Overview>();
    expectTypeOf<At<{ workers: WorkerStatus[]; servingNodes: ServingNodeInfo[]; speed: SpeedStatus }>>().toMatchTypeOf<UI.ClusterAnswer>();
    expectTypeOf<At<{ jobs: JobStatus[] }>>().toMatchTypeOf<UI.JobsAnswer>();
    expectTypeOf<At<{ job: JobStatus }>>().toMatchTypeOf<UI.JobAnswer>();
    expectTypeOf<At<{ datasets: DatasetSummary[] }>>().toMatchTypeOf<UI.DatasetsAnswer>();
    expectTypeOf<At<{ dataset: DatasetSummary; history: readonly TotalsSample[] }>>().toMatchTypeOf<UI.DatasetAnswer>();
    expectTypeOf<At<{ views: ViewInfo[] }>>().toMatchTypeOf<UI.ViewsAnswer>();
    expectTypeOf<At<ViewDetail>>().toMatchTypeOf<UI.ViewAnswer>();
    expectTypeOf<At<{ functions: FunctionSummary[] }>>().toMatchTypeOf<UI.FunctionsAnswer>();
    expectTypeOf<At<{ function: FunctionSummary; versions: FunctionVersionInfo[] }>>().toMatchTypeOf<UI.FunctionAnswer>();
    expectTypeOf<At<{ lines: FunctionLogLine[] }>>().toMatchTypeOf<UI.LogsAnswer>();
  });
});
