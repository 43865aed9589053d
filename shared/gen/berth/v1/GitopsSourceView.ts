// Original file: proto/berth/v1/operator.proto

import type { GitopsSource as _berth_v1_GitopsSource, GitopsSource__Output as _berth_v1_GitopsSource__Output } from '../../berth/v1/GitopsSource.js';
import type { GitopsCommit as _berth_v1_GitopsCommit, GitopsCommit__Output as _berth_v1_GitopsCommit__Output } from '../../berth/v1/GitopsCommit.js';
import type { Long } from '@grpc/proto-loader';

export interface GitopsSourceView {
  'source'?: (_berth_v1_GitopsSource | null);
  'suspended'?: (boolean);
  'created_at_ms'?: (number | string | Long);
  'last_attempted'?: (_berth_v1_GitopsCommit | null);
  'last_applied'?: (_berth_v1_GitopsCommit | null);
  'attempts'?: (number);
  'retry_at_ms'?: (number | string | Long);
  'owned'?: (string)[];
  'drift'?: (string)[];
  'drift_since_ms'?: (number | string | Long);
  'unpruned'?: (string)[];
  'head'?: (string);
  'fetched_at_ms'?: (number | string | Long);
  'fetch_error'?: (string);
  'now_ms'?: (number | string | Long);
}

export interface GitopsSourceView__Output {
  'source': (_berth_v1_GitopsSource__Output | null);
  'suspended': (boolean);
  'created_at_ms': (number);
  'last_attempted': (_berth_v1_GitopsCommit__Output | null);
  'last_applied': (_berth_v1_GitopsCommit__Output | null);
  'attempts': (number);
  'retry_at_ms': (number);
  'owned': (string)[];
  'drift': (string)[];
  'drift_since_ms': (number);
  'unpruned': (string)[];
  'head': (string);
  'fetched_at_ms': (number);
  'fetch_error': (string);
  'now_ms': (number);
}
