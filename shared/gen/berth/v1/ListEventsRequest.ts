// Original file: proto/berth/v1/operator.proto


export interface ListEventsRequest {
  'limit'?: (number);
  'host'?: (string);
  'service'?: (string);
}

export interface ListEventsRequest__Output {
  'limit': (number);
  'host': (string);
  'service': (string);
}
