// Original file: proto/berth/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecStart {
  'session_id'?: (number | string | Long);
  'command'?: (string)[];
  'tty'?: (boolean);
  'rows'?: (number);
  'cols'?: (number);
  'term'?: (string);
  'instance'?: (string);
}

export interface ExecStart__Output {
  'session_id': (number);
  'command': (string)[];
  'tty': (boolean);
  'rows': (number);
  'cols': (number);
  'term': (string);
  'instance': (string);
}
