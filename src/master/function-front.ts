/**
 * The master's front for functions, wired in one place: the HTTP port (with
 * the `http` trigger's route) and the trigger manager (dataset, view, files
 * and schedule triggers), both over the function service (catalog +
 * invocation service, the FunctionDirectory & FunctionInvoker of
 * src/functions/invoker.ts).
 *
 * Who calls it: the master, start once after its gRPC server listens, stop
 * once at its stop (before the dataset store closes).
 */
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { FunctionDirectory, FunctionInvoker } from '../functions/invoker.js';
import type { DatasetLog } from '../functions/triggers/dataset-trigger.js';
import { functionRoutes } from '../functions/triggers/http-trigger.js';
import { TriggerManager } from '../functions/triggers/trigger-manager.js';
import { startHttpServer, type HttpRoutes, type HttpServer } from './http-server.js';
import type { ViewPublishes } from './view-publish-feed.js';

export interface FunctionFrontDeps {
  readonly host: string;
  /** 0 picks a free port. */
  readonly httpPort: number;
  /** The function service; undefined: the HTTP port answers 503 for functions, and no trigger runs. */
  readonly functions: (FunctionDirectory & FunctionInvoker) | undefined;
  readonly datasets: DatasetLog;
  readonly views: ViewPublishes;
  /** The master's data folder: trigger state goes under `<dataDir>/functions/triggers`. */
  readonly dataDir: string;
  /** More routes for the HTTP port (the console's pages). */
  readonly routes?: readonly HttpRoutes[];
  /** files: triggers' listing interval (default 1 s). */
  readonly filesPollMs?: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface FunctionFront {
  readonly http: HttpServer;
  /** Undefined without a function service. */
  readonly triggers: TriggerManager | undefined;
  /** Stops the triggers, then the HTTP server. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startFunctionFront(d: FunctionFrontDeps): Promise<FunctionFront> {
  const http = await startHttpServer({
    host: d.host, port: d.httpPort, logger: d.logger,
    routes: [functionRoutes({ functions: d.functions, logger: d.logger }), ...(d.routes ?? [])],
  });
  let triggers: TriggerManager | undefined;
  if (d.functions !== undefined) {
    triggers = new TriggerManager({
      directory: d.functions, invoker: d.functions, datasets: d.datasets, views: d.views, stateDir: join(d.dataDir, 'functions', 'triggers'),
      clock: d.clock, logger: d.logger, ...(d.filesPollMs === undefined ? {} : { filesPollMs: d.filesPollMs }),
    });
    try {
      await triggers.start();
    } catch (err) {
      await http.close();
      throw err;
    }
  }
  let stopped: Promise<void> | undefined;
  return {
    http,
    triggers,
    stop() {
      stopped ??= (async () => {
        await triggers?.stop();
        await http.close();
      })();
      return stopped;
    },
  };
}
