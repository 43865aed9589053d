// Original file: proto/berth/v1/operator.proto

import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from '../../berth/v1/Event.js';

export interface ListEventsResponse {
  'events'?: (_berth_v1_Event)[];
}

export interface ListEventsResponse__Output {
  'events': (_berth_v1_Event__Output)[];
}
