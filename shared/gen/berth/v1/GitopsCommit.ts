// Original file: proto/berth/v1/operator.proto

import type { GitopsRollout as _berth_v1_GitopsRollout, GitopsRollout__Output as _berth_v1_GitopsRollout__Output } from '../../berth/v1/GitopsRollout.js';
import type { Long } from '@grpc/proto-loader';

export interface GitopsCommit {
  'commit'?: (string);
  'at_ms'?: (number | string | Long);
  'author'?: (string);
  'subject'?: (string);
  'errors'?: (string)[];
  'rollouts'?: (_berth_v1_GitopsRollout)[];
}

export interface GitopsCommit__Output {
  'commit': (string);
  'at_ms': (number);
  'author': (string);
  'subject': (string);
  'errors': (string)[];
  'rollouts': (_berth_v1_GitopsRollout__Output)[];
}
