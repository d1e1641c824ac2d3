import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** proto/ sits two levels above this file both in src/protocol and in dist/src/protocol. */
const PROTO_PATH = fileURLToPath(new URL('../../proto/laminate.proto', import.meta.url).href.replace('/dist/proto/', '/proto/'));

let loaded: {
  master: grpc.ServiceDefinition; shuffle: grpc.ServiceDefinition; shuffleHost: grpc.ServiceDefinition; dataset: grpc.ServiceDefinition;
  views: grpc.ServiceDefinition; serving: grpc.ServiceDefinition; speed: grpc.ServiceDefinition; functions: grpc.ServiceDefinition;
  masterCtor: grpc.ServiceClientConstructor; shuffleCtor: grpc.ServiceClientConstructor; shuffleHostCtor: grpc.ServiceClientConstructor;
  datasetCtor: grpc.ServiceClientConstructor; viewsCtor: grpc.ServiceClientConstructor; servingCtor: grpc.ServiceClientConstructor;
  speedCtor: grpc.ServiceClientConstructor; functionsCtor: grpc.ServiceClientConstructor;
} | undefined;

/** Loads the service definitions once per process (and once per worker thread). */
export function services(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const def = protoLoader.loadSync(PROTO_PATH, {
    keepCase: false, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    laminate: { v1: Record<'Master' | 'Shuffle' | 'ShuffleHost' | 'Dataset' | 'Views' | 'Serving' | 'Speed' | 'Functions', grpc.ServiceClientConstructor> };
  };
  const { Master, Shuffle, ShuffleHost, Dataset, Views, Serving, Speed, Functions } = pkg.laminate.v1;
  loaded = {
    master: Master.service, shuffle: Shuffle.service, shuffleHost: ShuffleHost.service, dataset: Dataset.service, views: Views.service, serving: Serving.service, speed: Speed.service, functions: Functions.service,
    masterCtor: Master, shuffleCtor: Shuffle, shuffleHostCtor: ShuffleHost, datasetCtor: Dataset, viewsCtor: Views, servingCtor: Serving, speedCtor: Speed, functionsCtor: Functions,
  };
  return loaded;
}

/** Channel options shared by every client and server: large messages for chunks, keepalive off. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};
