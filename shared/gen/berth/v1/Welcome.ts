// Original file: proto/berth/v1/agent.proto


export interface Welcome {
  'host_id'?: (string);
  'heartbeat_interval_ms'?: (number);
  'ttl_ms'?: (number);
  'advertise_addr'?: (string);
}

export interface Welcome__Output {
  'host_id': (string);
  'heartbeat_interval_ms': (number);
  'ttl_ms': (number);
  'advertise_addr': (string);
}
