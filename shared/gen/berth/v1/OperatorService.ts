// Original file: proto/berth/v1/operator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApplyRequest as _berth_v1_ApplyRequest, ApplyRequest__Output as _berth_v1_ApplyRequest__Output } from '../../berth/v1/ApplyRequest.js';
import type { ApplyResponse as _berth_v1_ApplyResponse, ApplyResponse__Output as _berth_v1_ApplyResponse__Output } from '../../berth/v1/ApplyResponse.js';
import type { ArtifactUpload as _berth_v1_ArtifactUpload, ArtifactUpload__Output as _berth_v1_ArtifactUpload__Output } from '../../berth/v1/ArtifactUpload.js';
import type { CaStatus as _berth_v1_CaStatus, CaStatus__Output as _berth_v1_CaStatus__Output } from '../../berth/v1/CaStatus.js';
import type { CordonRequest as _berth_v1_CordonRequest, CordonRequest__Output as _berth_v1_CordonRequest__Output } from '../../berth/v1/CordonRequest.js';
import type { CreateTokenRequest as _berth_v1_CreateTokenRequest, CreateTokenRequest__Output as _berth_v1_CreateTokenRequest__Output } from '../../berth/v1/CreateTokenRequest.js';
import type { CreateTokenResponse as _berth_v1_CreateTokenResponse, CreateTokenResponse__Output as _berth_v1_CreateTokenResponse__Output } from '../../berth/v1/CreateTokenResponse.js';
import type { Endpoints as _berth_v1_Endpoints, Endpoints__Output as _berth_v1_Endpoints__Output } from '../../berth/v1/Endpoints.js';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from '../../berth/v1/Event.js';
import type { ExecClientMessage as _berth_v1_ExecClientMessage, ExecClientMessage__Output as _berth_v1_ExecClientMessage__Output } from '../../berth/v1/ExecClientMessage.js';
import type { ExecServerMessage as _berth_v1_ExecServerMessage, ExecServerMessage__Output as _berth_v1_ExecServerMessage__Output } from '../../berth/v1/ExecServerMessage.js';
import type { FailoverState as _berth_v1_FailoverState, FailoverState__Output as _berth_v1_FailoverState__Output } from '../../berth/v1/FailoverState.js';
import type { ForgetControllerRequest as _berth_v1_ForgetControllerRequest, ForgetControllerRequest__Output as _berth_v1_ForgetControllerRequest__Output } from '../../berth/v1/ForgetControllerRequest.js';
import type { ForgetControllerResponse as _berth_v1_ForgetControllerResponse, ForgetControllerResponse__Output as _berth_v1_ForgetControllerResponse__Output } from '../../berth/v1/ForgetControllerResponse.js';
import type { GetCaStatusRequest as _berth_v1_GetCaStatusRequest, GetCaStatusRequest__Output as _berth_v1_GetCaStatusRequest__Output } from '../../berth/v1/GetCaStatusRequest.js';
import type { GetHostRequest as _berth_v1_GetHostRequest, GetHostRequest__Output as _berth_v1_GetHostRequest__Output } from '../../berth/v1/GetHostRequest.js';
import type { GitopsSource as _berth_v1_GitopsSource, GitopsSource__Output as _berth_v1_GitopsSource__Output } from '../../berth/v1/GitopsSource.js';
import type { GitopsSourceRef as _berth_v1_GitopsSourceRef, GitopsSourceRef__Output as _berth_v1_GitopsSourceRef__Output } from '../../berth/v1/GitopsSourceRef.js';
import type { GitopsSourceView as _berth_v1_GitopsSourceView, GitopsSourceView__Output as _berth_v1_GitopsSourceView__Output } from '../../berth/v1/GitopsSourceView.js';
import type { HasArtifactRequest as _berth_v1_HasArtifactRequest, HasArtifactRequest__Output as _berth_v1_HasArtifactRequest__Output } from '../../berth/v1/HasArtifactRequest.js';
import type { HasArtifactResponse as _berth_v1_HasArtifactResponse, HasArtifactResponse__Output as _berth_v1_HasArtifactResponse__Output } from '../../berth/v1/HasArtifactResponse.js';
import type { Host as _berth_v1_Host, Host__Output as _berth_v1_Host__Output } from '../../berth/v1/Host.js';
import type { LbApplied as _berth_v1_LbApplied, LbApplied__Output as _berth_v1_LbApplied__Output } from '../../berth/v1/LbApplied.js';
import type { ListAuditRequest as _berth_v1_ListAuditRequest, ListAuditRequest__Output as _berth_v1_ListAuditRequest__Output } from '../../berth/v1/ListAuditRequest.js';
import type { ListAuditResponse as _berth_v1_ListAuditResponse, ListAuditResponse__Output as _berth_v1_ListAuditResponse__Output } from '../../berth/v1/ListAuditResponse.js';
import type { ListControllersRequest as _berth_v1_ListControllersRequest, ListControllersRequest__Output as _berth_v1_ListControllersRequest__Output } from '../../berth/v1/ListControllersRequest.js';
import type { ListControllersResponse as _berth_v1_ListControllersResponse, ListControllersResponse__Output as _berth_v1_ListControllersResponse__Output } from '../../berth/v1/ListControllersResponse.js';
import type { ListEventsRequest as _berth_v1_ListEventsRequest, ListEventsRequest__Output as _berth_v1_ListEventsRequest__Output } from '../../berth/v1/ListEventsRequest.js';
import type { ListEventsResponse as _berth_v1_ListEventsResponse, ListEventsResponse__Output as _berth_v1_ListEventsResponse__Output } from '../../berth/v1/ListEventsResponse.js';
import type { ListGitopsSourcesRequest as _berth_v1_ListGitopsSourcesRequest, ListGitopsSourcesRequest__Output as _berth_v1_ListGitopsSourcesRequest__Output } from '../../berth/v1/ListGitopsSourcesRequest.js';
import type { ListGitopsSourcesResponse as _berth_v1_ListGitopsSourcesResponse, ListGitopsSourcesResponse__Output as _berth_v1_ListGitopsSourcesResponse__Output } from '../../berth/v1/ListGitopsSourcesResponse.js';
import type { ListHostsRequest as _berth_v1_ListHostsRequest, ListHostsRequest__Output as _berth_v1_ListHostsRequest__Output } from '../../berth/v1/ListHostsRequest.js';
import type { ListHostsResponse as _berth_v1_ListHostsResponse, ListHostsResponse__Output as _berth_v1_ListHostsResponse__Output } from '../../berth/v1/ListHostsResponse.js';
import type { ListSecretsRequest as _berth_v1_ListSecretsRequest, ListSecretsRequest__Output as _berth_v1_ListSecretsRequest__Output } from '../../berth/v1/ListSecretsRequest.js';
import type { ListSecretsResponse as _berth_v1_ListSecretsResponse, ListSecretsResponse__Output as _berth_v1_ListSecretsResponse__Output } from '../../berth/v1/ListSecretsResponse.js';
import type { ListServicesRequest as _berth_v1_ListServicesRequest, ListServicesRequest__Output as _berth_v1_ListServicesRequest__Output } from '../../berth/v1/ListServicesRequest.js';
import type { ListServicesResponse as _berth_v1_ListServicesResponse, ListServicesResponse__Output as _berth_v1_ListServicesResponse__Output } from '../../berth/v1/ListServicesResponse.js';
import type { ListTokensRequest as _berth_v1_ListTokensRequest, ListTokensRequest__Output as _berth_v1_ListTokensRequest__Output } from '../../berth/v1/ListTokensRequest.js';
import type { ListTokensResponse as _berth_v1_ListTokensResponse, ListTokensResponse__Output as _berth_v1_ListTokensResponse__Output } from '../../berth/v1/ListTokensResponse.js';
import type { LogsChunk as _berth_v1_LogsChunk, LogsChunk__Output as _berth_v1_LogsChunk__Output } from '../../berth/v1/LogsChunk.js';
import type { LogsRequest as _berth_v1_LogsRequest, LogsRequest__Output as _berth_v1_LogsRequest__Output } from '../../berth/v1/LogsRequest.js';
import type { PlaceRequest as _berth_v1_PlaceRequest, PlaceRequest__Output as _berth_v1_PlaceRequest__Output } from '../../berth/v1/PlaceRequest.js';
import type { RemoveHostRequest as _berth_v1_RemoveHostRequest, RemoveHostRequest__Output as _berth_v1_RemoveHostRequest__Output } from '../../berth/v1/RemoveHostRequest.js';
import type { ReportLbAppliedResponse as _berth_v1_ReportLbAppliedResponse, ReportLbAppliedResponse__Output as _berth_v1_ReportLbAppliedResponse__Output } from '../../berth/v1/ReportLbAppliedResponse.js';
import type { ResumeFailoverRequest as _berth_v1_ResumeFailoverRequest, ResumeFailoverRequest__Output as _berth_v1_ResumeFailoverRequest__Output } from '../../berth/v1/ResumeFailoverRequest.js';
import type { RevokeTokenRequest as _berth_v1_RevokeTokenRequest, RevokeTokenRequest__Output as _berth_v1_RevokeTokenRequest__Output } from '../../berth/v1/RevokeTokenRequest.js';
import type { RolloutControlRequest as _berth_v1_RolloutControlRequest, RolloutControlRequest__Output as _berth_v1_RolloutControlRequest__Output } from '../../berth/v1/RolloutControlRequest.js';
import type { RolloutView as _berth_v1_RolloutView, RolloutView__Output as _berth_v1_RolloutView__Output } from '../../berth/v1/RolloutView.js';
import type { RotateCaRequest as _berth_v1_RotateCaRequest, RotateCaRequest__Output as _berth_v1_RotateCaRequest__Output } from '../../berth/v1/RotateCaRequest.js';
import type { SecretInfo as _berth_v1_SecretInfo, SecretInfo__Output as _berth_v1_SecretInfo__Output } from '../../berth/v1/SecretInfo.js';
import type { SecretRef as _berth_v1_SecretRef, SecretRef__Output as _berth_v1_SecretRef__Output } from '../../berth/v1/SecretRef.js';
import type { ServiceHistory as _berth_v1_ServiceHistory, ServiceHistory__Output as _berth_v1_ServiceHistory__Output } from '../../berth/v1/ServiceHistory.js';
import type { ServiceRef as _berth_v1_ServiceRef, ServiceRef__Output as _berth_v1_ServiceRef__Output } from '../../berth/v1/ServiceRef.js';
import type { ServiceStatus as _berth_v1_ServiceStatus, ServiceStatus__Output as _berth_v1_ServiceStatus__Output } from '../../berth/v1/ServiceStatus.js';
import type { SetGitopsSuspendedRequest as _berth_v1_SetGitopsSuspendedRequest, SetGitopsSuspendedRequest__Output as _berth_v1_SetGitopsSuspendedRequest__Output } from '../../berth/v1/SetGitopsSuspendedRequest.js';
import type { SetSecretRequest as _berth_v1_SetSecretRequest, SetSecretRequest__Output as _berth_v1_SetSecretRequest__Output } from '../../berth/v1/SetSecretRequest.js';
import type { TokenInfo as _berth_v1_TokenInfo, TokenInfo__Output as _berth_v1_TokenInfo__Output } from '../../berth/v1/TokenInfo.js';
import type { WatchEventsRequest as _berth_v1_WatchEventsRequest, WatchEventsRequest__Output as _berth_v1_WatchEventsRequest__Output } from '../../berth/v1/WatchEventsRequest.js';
import type { WhoAmIRequest as _berth_v1_WhoAmIRequest, WhoAmIRequest__Output as _berth_v1_WhoAmIRequest__Output } from '../../berth/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _berth_v1_WhoAmIResponse, WhoAmIResponse__Output as _berth_v1_WhoAmIResponse__Output } from '../../berth/v1/WhoAmIResponse.js';

export interface OperatorServiceClient extends grpc.Client {
  AddGitopsSource(argument: _berth_v1_GitopsSource, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  AddGitopsSource(argument: _berth_v1_GitopsSource, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  AddGitopsSource(argument: _berth_v1_GitopsSource, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  AddGitopsSource(argument: _berth_v1_GitopsSource, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  addGitopsSource(argument: _berth_v1_GitopsSource, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  addGitopsSource(argument: _berth_v1_GitopsSource, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  addGitopsSource(argument: _berth_v1_GitopsSource, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  addGitopsSource(argument: _berth_v1_GitopsSource, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  
  Apply(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _berth_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _berth_v1_ApplyRequest, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _berth_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _berth_v1_ApplyRequest, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  
  Cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Cordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Cordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  cordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  CreateToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _berth_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _berth_v1_CreateTokenRequest, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _berth_v1_CreateTokenRequest, callback: grpc.requestCallback<_berth_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  
  DeleteSecret(argument: _berth_v1_SecretRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  DeleteSecret(argument: _berth_v1_SecretRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  DeleteSecret(argument: _berth_v1_SecretRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  DeleteSecret(argument: _berth_v1_SecretRef, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _berth_v1_SecretRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _berth_v1_SecretRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _berth_v1_SecretRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  deleteSecret(argument: _berth_v1_SecretRef, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  
  DeleteService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  DeleteService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  DeleteService(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  DeleteService(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  deleteService(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  
  Drain(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Drain(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Drain(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Drain(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  drain(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  drain(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  drain(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  drain(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  Exec(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_ExecClientMessage, _berth_v1_ExecServerMessage__Output>;
  Exec(options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_ExecClientMessage, _berth_v1_ExecServerMessage__Output>;
  exec(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_ExecClientMessage, _berth_v1_ExecServerMessage__Output>;
  exec(options?: grpc.CallOptions): grpc.ClientDuplexStream<_berth_v1_ExecClientMessage, _berth_v1_ExecServerMessage__Output>;
  
  ForgetController(argument: _berth_v1_ForgetControllerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  ForgetController(argument: _berth_v1_ForgetControllerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  ForgetController(argument: _berth_v1_ForgetControllerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  ForgetController(argument: _berth_v1_ForgetControllerRequest, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  forgetController(argument: _berth_v1_ForgetControllerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  forgetController(argument: _berth_v1_ForgetControllerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  forgetController(argument: _berth_v1_ForgetControllerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  forgetController(argument: _berth_v1_ForgetControllerRequest, callback: grpc.requestCallback<_berth_v1_ForgetControllerResponse__Output>): grpc.ClientUnaryCall;
  
  GetCaStatus(argument: _berth_v1_GetCaStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  GetCaStatus(argument: _berth_v1_GetCaStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  GetCaStatus(argument: _berth_v1_GetCaStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  GetCaStatus(argument: _berth_v1_GetCaStatusRequest, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  getCaStatus(argument: _berth_v1_GetCaStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  getCaStatus(argument: _berth_v1_GetCaStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  getCaStatus(argument: _berth_v1_GetCaStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  getCaStatus(argument: _berth_v1_GetCaStatusRequest, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  
  GetGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  GetGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  GetGitopsSource(argument: _berth_v1_GitopsSourceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  GetGitopsSource(argument: _berth_v1_GitopsSourceRef, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  getGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  getGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  getGitopsSource(argument: _berth_v1_GitopsSourceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  getGitopsSource(argument: _berth_v1_GitopsSourceRef, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  
  GetHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  GetHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  GetHost(argument: _berth_v1_GetHostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  GetHost(argument: _berth_v1_GetHostRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  getHost(argument: _berth_v1_GetHostRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  GetRollout(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  GetRollout(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  GetRollout(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  GetRollout(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  getRollout(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  getRollout(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  getRollout(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  getRollout(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  
  GetService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  GetService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  GetService(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  GetService(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  getService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  getService(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  getService(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  getService(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  
  GetServiceHistory(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  GetServiceHistory(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  GetServiceHistory(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  GetServiceHistory(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  getServiceHistory(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  getServiceHistory(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  getServiceHistory(argument: _berth_v1_ServiceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  getServiceHistory(argument: _berth_v1_ServiceRef, callback: grpc.requestCallback<_berth_v1_ServiceHistory__Output>): grpc.ClientUnaryCall;
  
  HasArtifact(argument: _berth_v1_HasArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  HasArtifact(argument: _berth_v1_HasArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  HasArtifact(argument: _berth_v1_HasArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  HasArtifact(argument: _berth_v1_HasArtifactRequest, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  hasArtifact(argument: _berth_v1_HasArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  hasArtifact(argument: _berth_v1_HasArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  hasArtifact(argument: _berth_v1_HasArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  hasArtifact(argument: _berth_v1_HasArtifactRequest, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientUnaryCall;
  
  ListAudit(argument: _berth_v1_ListAuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  ListAudit(argument: _berth_v1_ListAuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  ListAudit(argument: _berth_v1_ListAuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  ListAudit(argument: _berth_v1_ListAuditRequest, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _berth_v1_ListAuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _berth_v1_ListAuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _berth_v1_ListAuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _berth_v1_ListAuditRequest, callback: grpc.requestCallback<_berth_v1_ListAuditResponse__Output>): grpc.ClientUnaryCall;
  
  ListControllers(argument: _berth_v1_ListControllersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  ListControllers(argument: _berth_v1_ListControllersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  ListControllers(argument: _berth_v1_ListControllersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  ListControllers(argument: _berth_v1_ListControllersRequest, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  listControllers(argument: _berth_v1_ListControllersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  listControllers(argument: _berth_v1_ListControllersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  listControllers(argument: _berth_v1_ListControllersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  listControllers(argument: _berth_v1_ListControllersRequest, callback: grpc.requestCallback<_berth_v1_ListControllersResponse__Output>): grpc.ClientUnaryCall;
  
  ListEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _berth_v1_ListEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _berth_v1_ListEventsRequest, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _berth_v1_ListEventsRequest, callback: grpc.requestCallback<_berth_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  
  ListGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  ListGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  ListGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  ListGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  listGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  listGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  listGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  listGitopsSources(argument: _berth_v1_ListGitopsSourcesRequest, callback: grpc.requestCallback<_berth_v1_ListGitopsSourcesResponse__Output>): grpc.ClientUnaryCall;
  
  ListHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  ListHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  ListHosts(argument: _berth_v1_ListHostsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  ListHosts(argument: _berth_v1_ListHostsRequest, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  listHosts(argument: _berth_v1_ListHostsRequest, callback: grpc.requestCallback<_berth_v1_ListHostsResponse__Output>): grpc.ClientUnaryCall;
  
  ListSecrets(argument: _berth_v1_ListSecretsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  ListSecrets(argument: _berth_v1_ListSecretsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  ListSecrets(argument: _berth_v1_ListSecretsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  ListSecrets(argument: _berth_v1_ListSecretsRequest, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  listSecrets(argument: _berth_v1_ListSecretsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  listSecrets(argument: _berth_v1_ListSecretsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  listSecrets(argument: _berth_v1_ListSecretsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  listSecrets(argument: _berth_v1_ListSecretsRequest, callback: grpc.requestCallback<_berth_v1_ListSecretsResponse__Output>): grpc.ClientUnaryCall;
  
  ListServices(argument: _berth_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _berth_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _berth_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _berth_v1_ListServicesRequest, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _berth_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _berth_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _berth_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _berth_v1_ListServicesRequest, callback: grpc.requestCallback<_berth_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  
  ListTokens(argument: _berth_v1_ListTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _berth_v1_ListTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _berth_v1_ListTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _berth_v1_ListTokensRequest, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _berth_v1_ListTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _berth_v1_ListTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _berth_v1_ListTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _berth_v1_ListTokensRequest, callback: grpc.requestCallback<_berth_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  
  Logs(argument: _berth_v1_LogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_LogsChunk__Output>;
  Logs(argument: _berth_v1_LogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_LogsChunk__Output>;
  logs(argument: _berth_v1_LogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_LogsChunk__Output>;
  logs(argument: _berth_v1_LogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_LogsChunk__Output>;
  
  Place(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  Place(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  Place(argument: _berth_v1_PlaceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  Place(argument: _berth_v1_PlaceRequest, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  place(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  place(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  place(argument: _berth_v1_PlaceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  place(argument: _berth_v1_PlaceRequest, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  
  Plan(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Plan(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Plan(argument: _berth_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Plan(argument: _berth_v1_ApplyRequest, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  plan(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  plan(argument: _berth_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  plan(argument: _berth_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  plan(argument: _berth_v1_ApplyRequest, callback: grpc.requestCallback<_berth_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  
  RemoveGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  RemoveGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  RemoveGitopsSource(argument: _berth_v1_GitopsSourceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  RemoveGitopsSource(argument: _berth_v1_GitopsSourceRef, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  removeGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  removeGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  removeGitopsSource(argument: _berth_v1_GitopsSourceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  removeGitopsSource(argument: _berth_v1_GitopsSourceRef, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  
  RemoveHost(argument: _berth_v1_RemoveHostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  RemoveHost(argument: _berth_v1_RemoveHostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  RemoveHost(argument: _berth_v1_RemoveHostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  RemoveHost(argument: _berth_v1_RemoveHostRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  removeHost(argument: _berth_v1_RemoveHostRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  removeHost(argument: _berth_v1_RemoveHostRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  removeHost(argument: _berth_v1_RemoveHostRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  removeHost(argument: _berth_v1_RemoveHostRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  ReportLbApplied(argument: _berth_v1_LbApplied, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  ReportLbApplied(argument: _berth_v1_LbApplied, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  ReportLbApplied(argument: _berth_v1_LbApplied, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  ReportLbApplied(argument: _berth_v1_LbApplied, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  reportLbApplied(argument: _berth_v1_LbApplied, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  reportLbApplied(argument: _berth_v1_LbApplied, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  reportLbApplied(argument: _berth_v1_LbApplied, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  reportLbApplied(argument: _berth_v1_LbApplied, callback: grpc.requestCallback<_berth_v1_ReportLbAppliedResponse__Output>): grpc.ClientUnaryCall;
  
  ResumeFailover(argument: _berth_v1_ResumeFailoverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  ResumeFailover(argument: _berth_v1_ResumeFailoverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  ResumeFailover(argument: _berth_v1_ResumeFailoverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  ResumeFailover(argument: _berth_v1_ResumeFailoverRequest, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  resumeFailover(argument: _berth_v1_ResumeFailoverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  resumeFailover(argument: _berth_v1_ResumeFailoverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  resumeFailover(argument: _berth_v1_ResumeFailoverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  resumeFailover(argument: _berth_v1_ResumeFailoverRequest, callback: grpc.requestCallback<_berth_v1_FailoverState__Output>): grpc.ClientUnaryCall;
  
  RevokeToken(argument: _berth_v1_RevokeTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  RevokeToken(argument: _berth_v1_RevokeTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  RevokeToken(argument: _berth_v1_RevokeTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  RevokeToken(argument: _berth_v1_RevokeTokenRequest, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _berth_v1_RevokeTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _berth_v1_RevokeTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _berth_v1_RevokeTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _berth_v1_RevokeTokenRequest, callback: grpc.requestCallback<_berth_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  
  RolloutControl(argument: _berth_v1_RolloutControlRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  RolloutControl(argument: _berth_v1_RolloutControlRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  RolloutControl(argument: _berth_v1_RolloutControlRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  RolloutControl(argument: _berth_v1_RolloutControlRequest, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  rolloutControl(argument: _berth_v1_RolloutControlRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  rolloutControl(argument: _berth_v1_RolloutControlRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  rolloutControl(argument: _berth_v1_RolloutControlRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  rolloutControl(argument: _berth_v1_RolloutControlRequest, callback: grpc.requestCallback<_berth_v1_RolloutView__Output>): grpc.ClientUnaryCall;
  
  RotateCa(argument: _berth_v1_RotateCaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  RotateCa(argument: _berth_v1_RotateCaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  RotateCa(argument: _berth_v1_RotateCaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  RotateCa(argument: _berth_v1_RotateCaRequest, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  rotateCa(argument: _berth_v1_RotateCaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  rotateCa(argument: _berth_v1_RotateCaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  rotateCa(argument: _berth_v1_RotateCaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  rotateCa(argument: _berth_v1_RotateCaRequest, callback: grpc.requestCallback<_berth_v1_CaStatus__Output>): grpc.ClientUnaryCall;
  
  SetGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  SetGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  SetGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  SetGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  setGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  setGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  setGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  setGitopsSuspended(argument: _berth_v1_SetGitopsSuspendedRequest, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  
  SetSecret(argument: _berth_v1_SetSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  SetSecret(argument: _berth_v1_SetSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  SetSecret(argument: _berth_v1_SetSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  SetSecret(argument: _berth_v1_SetSecretRequest, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  setSecret(argument: _berth_v1_SetSecretRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  setSecret(argument: _berth_v1_SetSecretRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  setSecret(argument: _berth_v1_SetSecretRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  setSecret(argument: _berth_v1_SetSecretRequest, callback: grpc.requestCallback<_berth_v1_SecretInfo__Output>): grpc.ClientUnaryCall;
  
  SyncGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  SyncGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  SyncGitopsSource(argument: _berth_v1_GitopsSourceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  SyncGitopsSource(argument: _berth_v1_GitopsSourceRef, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  syncGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  syncGitopsSource(argument: _berth_v1_GitopsSourceRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  syncGitopsSource(argument: _berth_v1_GitopsSourceRef, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  syncGitopsSource(argument: _berth_v1_GitopsSourceRef, callback: grpc.requestCallback<_berth_v1_GitopsSourceView__Output>): grpc.ClientUnaryCall;
  
  Uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Uncordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  Uncordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  uncordon(argument: _berth_v1_CordonRequest, callback: grpc.requestCallback<_berth_v1_Host__Output>): grpc.ClientUnaryCall;
  
  Unpin(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _berth_v1_PlaceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _berth_v1_PlaceRequest, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  unpin(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  unpin(argument: _berth_v1_PlaceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  unpin(argument: _berth_v1_PlaceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  unpin(argument: _berth_v1_PlaceRequest, callback: grpc.requestCallback<_berth_v1_ServiceStatus__Output>): grpc.ClientUnaryCall;
  
  UploadArtifact(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  UploadArtifact(metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  UploadArtifact(options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  UploadArtifact(callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  uploadArtifact(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  uploadArtifact(metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  uploadArtifact(options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  uploadArtifact(callback: grpc.requestCallback<_berth_v1_HasArtifactResponse__Output>): grpc.ClientWritableStream<_berth_v1_ArtifactUpload>;
  
  WatchEndpoints(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Endpoints__Output>;
  WatchEndpoints(argument: _berth_v1_ServiceRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Endpoints__Output>;
  watchEndpoints(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Endpoints__Output>;
  watchEndpoints(argument: _berth_v1_ServiceRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Endpoints__Output>;
  
  WatchEvents(argument: _berth_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  WatchEvents(argument: _berth_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  watchEvents(argument: _berth_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  watchEvents(argument: _berth_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_Event__Output>;
  
  WatchRollout(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_RolloutView__Output>;
  WatchRollout(argument: _berth_v1_ServiceRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_RolloutView__Output>;
  watchRollout(argument: _berth_v1_ServiceRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_RolloutView__Output>;
  watchRollout(argument: _berth_v1_ServiceRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_berth_v1_RolloutView__Output>;
  
  WhoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _berth_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _berth_v1_WhoAmIRequest, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _berth_v1_WhoAmIRequest, callback: grpc.requestCallback<_berth_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface OperatorServiceHandlers extends grpc.UntypedServiceImplementation {
  AddGitopsSource: grpc.handleUnaryCall<_berth_v1_GitopsSource__Output, _berth_v1_GitopsSourceView>;
  
  Apply: grpc.handleUnaryCall<_berth_v1_ApplyRequest__Output, _berth_v1_ApplyResponse>;
  
  Cordon: grpc.handleUnaryCall<_berth_v1_CordonRequest__Output, _berth_v1_Host>;
  
  CreateToken: grpc.handleUnaryCall<_berth_v1_CreateTokenRequest__Output, _berth_v1_CreateTokenResponse>;
  
  DeleteSecret: grpc.handleUnaryCall<_berth_v1_SecretRef__Output, _berth_v1_SecretInfo>;
  
  DeleteService: grpc.handleUnaryCall<_berth_v1_ServiceRef__Output, _berth_v1_ApplyResponse>;
  
  Drain: grpc.handleUnaryCall<_berth_v1_CordonRequest__Output, _berth_v1_Host>;
  
  Exec: grpc.handleBidiStreamingCall<_berth_v1_ExecClientMessage__Output, _berth_v1_ExecServerMessage>;
  
  ForgetController: grpc.handleUnaryCall<_berth_v1_ForgetControllerRequest__Output, _berth_v1_ForgetControllerResponse>;
  
  GetCaStatus: grpc.handleUnaryCall<_berth_v1_GetCaStatusRequest__Output, _berth_v1_CaStatus>;
  
  GetGitopsSource: grpc.handleUnaryCall<_berth_v1_GitopsSourceRef__Output, _berth_v1_GitopsSourceView>;
  
  GetHost: grpc.handleUnaryCall<_berth_v1_GetHostRequest__Output, _berth_v1_Host>;
  
  GetRollout: grpc.handleUnaryCall<_berth_v1_ServiceRef__Output, _berth_v1_RolloutView>;
  
  GetService: grpc.handleUnaryCall<_berth_v1_ServiceRef__Output, _berth_v1_ServiceStatus>;
  
  GetServiceHistory: grpc.handleUnaryCall<_berth_v1_ServiceRef__Output, _berth_v1_ServiceHistory>;
  
  HasArtifact: grpc.handleUnaryCall<_berth_v1_HasArtifactRequest__Output, _berth_v1_HasArtifactResponse>;
  
  ListAudit: grpc.handleUnaryCall<_berth_v1_ListAuditRequest__Output, _berth_v1_ListAuditResponse>;
  
  ListControllers: grpc.handleUnaryCall<_berth_v1_ListControllersRequest__Output, _berth_v1_ListControllersResponse>;
  
  ListEvents: grpc.handleUnaryCall<_berth_v1_ListEventsRequest__Output, _berth_v1_ListEventsResponse>;
  
  ListGitopsSources: grpc.handleUnaryCall<_berth_v1_ListGitopsSourcesRequest__Output, _berth_v1_ListGitopsSourcesResponse>;
  
  ListHosts: grpc.handleUnaryCall<_berth_v1_ListHostsRequest__Output, _berth_v1_ListHostsResponse>;
  
  ListSecrets: grpc.handleUnaryCall<_berth_v1_ListSecretsRequest__Output, _berth_v1_ListSecretsResponse>;
  
  ListServices: grpc.handleUnaryCall<_berth_v1_ListServicesRequest__Output, _berth_v1_ListServicesResponse>;
  
  ListTokens: grpc.handleUnaryCall<_berth_v1_ListTokensRequest__Output, _berth_v1_ListTokensResponse>;
  
  Logs: grpc.handleServerStreamingCall<_berth_v1_LogsRequest__Output, _berth_v1_LogsChunk>;
  
  Place: grpc.handleUnaryCall<_berth_v1_PlaceRequest__Output, _berth_v1_ServiceStatus>;
  
  Plan: grpc.handleUnaryCall<_berth_v1_ApplyRequest__Output, _berth_v1_ApplyResponse>;
  
  RemoveGitopsSource: grpc.handleUnaryCall<_berth_v1_GitopsSourceRef__Output, _berth_v1_GitopsSourceView>;
  
  RemoveHost: grpc.handleUnaryCall<_berth_v1_RemoveHostRequest__Output, _berth_v1_Host>;
  
  ReportLbApplied: grpc.handleUnaryCall<_berth_v1_LbApplied__Output, _berth_v1_ReportLbAppliedResponse>;
  
  ResumeFailover: grpc.handleUnaryCall<_berth_v1_ResumeFailoverRequest__Output, _berth_v1_FailoverState>;
  
  RevokeToken: grpc.handleUnaryCall<_berth_v1_RevokeTokenRequest__Output, _berth_v1_TokenInfo>;
  
  RolloutControl: grpc.handleUnaryCall<_berth_v1_RolloutControlRequest__Output, _berth_v1_RolloutView>;
  
  RotateCa: grpc.handleUnaryCall<_berth_v1_RotateCaRequest__Output, _berth_v1_CaStatus>;
  
  SetGitopsSuspended: grpc.handleUnaryCall<_berth_v1_SetGitopsSuspendedRequest__Output, _berth_v1_GitopsSourceView>;
  
  SetSecret: grpc.handleUnaryCall<_berth_v1_SetSecretRequest__Output, _berth_v1_SecretInfo>;
  
  SyncGitopsSource: grpc.handleUnaryCall<_berth_v1_GitopsSourceRef__Output, _berth_v1_GitopsSourceView>;
  
  Uncordon: grpc.handleUnaryCall<_berth_v1_CordonRequest__Output, _berth_v1_Host>;
  
  Unpin: grpc.handleUnaryCall<_berth_v1_PlaceRequest__Output, _berth_v1_ServiceStatus>;
  
  UploadArtifact: grpc.handleClientStreamingCall<_berth_v1_ArtifactUpload__Output, _berth_v1_HasArtifactResponse>;
  
  WatchEndpoints: grpc.handleServerStreamingCall<_berth_v1_ServiceRef__Output, _berth_v1_Endpoints>;
  
  WatchEvents: grpc.handleServerStreamingCall<_berth_v1_WatchEventsRequest__Output, _berth_v1_Event>;
  
  WatchRollout: grpc.handleServerStreamingCall<_berth_v1_ServiceRef__Output, _berth_v1_RolloutView>;
  
  WhoAmI: grpc.handleUnaryCall<_berth_v1_WhoAmIRequest__Output, _berth_v1_WhoAmIResponse>;
  
}

export interface OperatorServiceDefinition extends grpc.ServiceDefinition {
  AddGitopsSource: MethodDefinition<_berth_v1_GitopsSource, _berth_v1_GitopsSourceView, _berth_v1_GitopsSource__Output, _berth_v1_GitopsSourceView__Output>
  Apply: MethodDefinition<_berth_v1_ApplyRequest, _berth_v1_ApplyResponse, _berth_v1_ApplyRequest__Output, _berth_v1_ApplyResponse__Output>
  Cordon: MethodDefinition<_berth_v1_CordonRequest, _berth_v1_Host, _berth_v1_CordonRequest__Output, _berth_v1_Host__Output>
  CreateToken: MethodDefinition<_berth_v1_CreateTokenRequest, _berth_v1_CreateTokenResponse, _berth_v1_CreateTokenRequest__Output, _berth_v1_CreateTokenResponse__Output>
  DeleteSecret: MethodDefinition<_berth_v1_SecretRef, _berth_v1_SecretInfo, _berth_v1_SecretRef__Output, _berth_v1_SecretInfo__Output>
  DeleteService: MethodDefinition<_berth_v1_ServiceRef, _berth_v1_ApplyResponse, _berth_v1_ServiceRef__Output, _berth_v1_ApplyResponse__Output>
  Drain: MethodDefinition<_berth_v1_CordonRequest, _berth_v1_Host, _berth_v1_CordonRequest__Output, _berth_v1_Host__Output>
  Exec: MethodDefinition<_berth_v1_ExecClientMessage, _berth_v1_ExecServerMessage, _berth_v1_ExecClientMessage__Output, _berth_v1_ExecServerMessage__Output>
  ForgetController: MethodDefinition<_berth_v1_ForgetControllerRequest, _berth_v1_ForgetControllerResponse, _berth_v1_ForgetControllerRequest__Output, _berth_v1_ForgetControllerResponse__Output>
  GetCaStatus: MethodDefinition<_berth_v1_GetCaStatusRequest, _berth_v1_CaStatus, _berth_v1_GetCaStatusRequest__Output, _berth_v1_CaStatus__Output>
  GetGitopsSource: MethodDefinition<_berth_v1_GitopsSourceRef, _berth_v1_GitopsSourceView, _berth_v1_GitopsSourceRef__Output, _berth_v1_GitopsSourceView__Output>
  GetHost: MethodDefinition<_berth_v1_GetHostRequest, _berth_v1_Host, _berth_v1_GetHostRequest__Output, _berth_v1_Host__Output>
  GetRollout: MethodDefinition<_berth_v1_ServiceRef, _berth_v1_RolloutView, _berth_v1_ServiceRef__Output, _berth_v1_RolloutView__Output>
  GetService: MethodDefinition<_berth_v1_ServiceRef, _berth_v1_ServiceStatus, _berth_v1_ServiceRef__Output, _berth_v1_ServiceStatus__Output>
  GetServiceHistory: MethodDefinition<_berth_v1_ServiceRef, _berth_v1_ServiceHistory, _berth_v1_ServiceRef__Output, _berth_v1_ServiceHistory__Output>
  HasArtifact: MethodDefinition<_berth_v1_HasArtifactRequest, _berth_v1_HasArtifactResponse, _berth_v1_HasArtifactRequest__Output, _berth_v1_HasArtifactResponse__Output>
  ListAudit: MethodDefinition<_berth_v1_ListAuditRequest, _berth_v1_ListAuditResponse, _berth_v1_ListAuditRequest__Output, _berth_v1_ListAuditResponse__Output>
  ListControllers: MethodDefinition<_berth_v1_ListControllersRequest, _berth_v1_ListControllersResponse, _berth_v1_ListControllersRequest__Output, _berth_v1_ListControllersResponse__Output>
  ListEvents: MethodDefinition<_berth_v1_ListEventsRequest, _berth_v1_ListEventsResponse, _berth_v1_ListEventsRequest__Output, _berth_v1_ListEventsResponse__Output>
  ListGitopsSources: MethodDefinition<_berth_v1_ListGitopsSourcesRequest, _berth_v1_ListGitopsSourcesResponse, _berth_v1_ListGitopsSourcesRequest__Output, _berth_v1_ListGitopsSourcesResponse__Output>
  ListHosts: MethodDefinition<_berth_v1_ListHostsRequest, _berth_v1_ListHostsResponse, _berth_v1_ListHostsRequest__Output, _berth_v1_ListHostsResponse__Output>
  ListSecrets: MethodDefinition<_berth_v1_ListSecretsRequest, _berth_v1_ListSecretsResponse, _berth_v1_ListSecretsRequest__Output, _berth_v1_ListSecretsResponse__Output>
  ListServices: MethodDefinition<_berth_v1_ListServicesRequest, _berth_v1_ListServicesResponse, _berth_v1_ListServicesRequest__Output, _berth_v1_ListServicesResponse__Output>
  ListTokens: MethodDefinition<_berth_v1_ListTokensRequest, _berth_v1_ListTokensResponse, _berth_v1_ListTokensRequest__Output, _berth_v1_ListTokensResponse__Output>
  Logs: MethodDefinition<_berth_v1_LogsRequest, _berth_v1_LogsChunk, _berth_v1_LogsRequest__Output, _berth_v1_LogsChunk__Output>
  Place: MethodDefinition<_berth_v1_PlaceRequest, _berth_v1_ServiceStatus, _berth_v1_PlaceRequest__Output, _berth_v1_ServiceStatus__Output>
  Plan: MethodDefinition<_berth_v1_ApplyRequest, _berth_v1_ApplyResponse, _berth_v1_ApplyRequest__Output, _berth_v1_ApplyResponse__Output>
  RemoveGitopsSource: MethodDefinition<_berth_v1_GitopsSourceRef, _berth_v1_GitopsSourceView, _berth_v1_GitopsSourceRef__Output, _berth_v1_GitopsSourceView__Output>
  RemoveHost: MethodDefinition<_berth_v1_RemoveHostRequest, _berth_v1_Host, _berth_v1_RemoveHostRequest__Output, _berth_v1_Host__Output>
  ReportLbApplied: MethodDefinition<_berth_v1_LbApplied, _berth_v1_ReportLbAppliedResponse, _berth_v1_LbApplied__Output, _berth_v1_ReportLbAppliedResponse__Output>
  ResumeFailover: MethodDefinition<_berth_v1_ResumeFailoverRequest, _berth_v1_FailoverState, _berth_v1_ResumeFailoverRequest__Output, _berth_v1_FailoverState__Output>
  RevokeToken: MethodDefinition<_berth_v1_RevokeTokenRequest, _berth_v1_TokenInfo, _berth_v1_RevokeTokenRequest__Output, _berth_v1_TokenInfo__Output>
  RolloutControl: MethodDefinition<_berth_v1_RolloutControlRequest, _berth_v1_RolloutView, _berth_v1_RolloutControlRequest__Output, _berth_v1_RolloutView__Output>
  RotateCa: MethodDefinition<_berth_v1_RotateCaRequest, _berth_v1_CaStatus, _berth_v1_RotateCaRequest__Output, _berth_v1_CaStatus__Output>
  SetGitopsSuspended: MethodDefinition<_berth_v1_SetGitopsSuspendedRequest, _berth_v1_GitopsSourceView, _berth_v1_SetGitopsSuspendedRequest__Output, _berth_v1_GitopsSourceView__Output>
  SetSecret: MethodDefinition<_berth_v1_SetSecretRequest, _berth_v1_SecretInfo, _berth_v1_SetSecretRequest__Output, _berth_v1_SecretInfo__Output>
  SyncGitopsSource: MethodDefinition<_berth_v1_GitopsSourceRef, _berth_v1_GitopsSourceView, _berth_v1_GitopsSourceRef__Output, _berth_v1_GitopsSourceView__Output>
  Uncordon: MethodDefinition<_berth_v1_CordonRequest, _berth_v1_Host, _berth_v1_CordonRequest__Output, _berth_v1_Host__Output>
  Unpin: MethodDefinition<_berth_v1_PlaceRequest, _berth_v1_ServiceStatus, _berth_v1_PlaceRequest__Output, _berth_v1_ServiceStatus__Output>
  UploadArtifact: MethodDefinition<_berth_v1_ArtifactUpload, _berth_v1_HasArtifactResponse, _berth_v1_ArtifactUpload__Output, _berth_v1_HasArtifactResponse__Output>
  WatchEndpoints: MethodDefinition<_berth_v1_ServiceRef, _berth_v1_Endpoints, _berth_v1_ServiceRef__Output, _berth_v1_Endpoints__Output>
  WatchEvents: MethodDefinition<_berth_v1_WatchEventsRequest, _berth_v1_Event, _berth_v1_WatchEventsRequest__Output, _berth_v1_Event__Output>
  WatchRollout: MethodDefinition<_berth_v1_ServiceRef, _berth_v1_RolloutView, _berth_v1_ServiceRef__Output, _berth_v1_RolloutView__Output>
  WhoAmI: MethodDefinition<_berth_v1_WhoAmIRequest, _berth_v1_WhoAmIResponse, _berth_v1_WhoAmIRequest__Output, _berth_v1_WhoAmIResponse__Output>
}
