// Original file: proto/berth/v1/operator.proto


export interface PlaceRequest {
  'service'?: (string);
  'host'?: (string);
}

export interface PlaceRequest__Output {
  'service': (string);
  'host': (string);
}
