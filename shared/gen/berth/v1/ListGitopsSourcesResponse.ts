// Original file: proto/berth/v1/operator.proto

import type { GitopsSourceView as _berth_v1_GitopsSourceView, GitopsSourceView__Output as _berth_v1_GitopsSourceView__Output } from '../../berth/v1/GitopsSourceView.js';
import type { Long } from '@grpc/proto-loader';

export interface ListGitopsSourcesResponse {
  'sources'?: (_berth_v1_GitopsSourceView)[];
  'now_ms'?: (number | string | Long);
}

export interface ListGitopsSourcesResponse__Output {
  'sources': (_berth_v1_GitopsSourceView__Output)[];
  'now_ms': (number);
}
