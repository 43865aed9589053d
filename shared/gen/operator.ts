import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ApplyRequest as _berth_v1_ApplyRequest, ApplyRequest__Output as _berth_v1_ApplyRequest__Output } from './berth/v1/ApplyRequest.js';
import type { ApplyResponse as _berth_v1_ApplyResponse, ApplyResponse__Output as _berth_v1_ApplyResponse__Output } from './berth/v1/ApplyResponse.js';
import type { ArtifactUpload as _berth_v1_ArtifactUpload, ArtifactUpload__Output as _berth_v1_ArtifactUpload__Output } from './berth/v1/ArtifactUpload.js';
import type { AuditEntry as _berth_v1_AuditEntry, AuditEntry__Output as _berth_v1_AuditEntry__Output } from './berth/v1/AuditEntry.js';
import type { CaCertInfo as _berth_v1_CaCertInfo, CaCertInfo__Output as _berth_v1_CaCertInfo__Output } from './berth/v1/CaCertInfo.js';
import type { CaStatus as _berth_v1_CaStatus, CaStatus__Output as _berth_v1_CaStatus__Output } from './berth/v1/CaStatus.js';
import type { ControllerMember as _berth_v1_ControllerMember, ControllerMember__Output as _berth_v1_ControllerMember__Output } from './berth/v1/ControllerMember.js';
import type { CordonRequest as _berth_v1_CordonRequest, CordonRequest__Output as _berth_v1_CordonRequest__Output } from './berth/v1/CordonRequest.js';
import type { CreateTokenRequest as _berth_v1_CreateTokenRequest, CreateTokenRequest__Output as _berth_v1_CreateTokenRequest__Output } from './berth/v1/CreateTokenRequest.js';
import type { CreateTokenResponse as _berth_v1_CreateTokenResponse, CreateTokenResponse__Output as _berth_v1_CreateTokenResponse__Output } from './berth/v1/CreateTokenResponse.js';
import type { Disk as _berth_v1_Disk, Disk__Output as _berth_v1_Disk__Output } from './berth/v1/Disk.js';
import type { Endpoint as _berth_v1_Endpoint, Endpoint__Output as _berth_v1_Endpoint__Output } from './berth/v1/Endpoint.js';
import type { Endpoints as _berth_v1_Endpoints, Endpoints__Output as _berth_v1_Endpoints__Output } from './berth/v1/Endpoints.js';
import type { EnsureArtifactRequest as _berth_v1_EnsureArtifactRequest, EnsureArtifactRequest__Output as _berth_v1_EnsureArtifactRequest__Output } from './berth/v1/EnsureArtifactRequest.js';
import type { EtcdEndpoint as _berth_v1_EtcdEndpoint, EtcdEndpoint__Output as _berth_v1_EtcdEndpoint__Output } from './berth/v1/EtcdEndpoint.js';
import type { Event as _berth_v1_Event, Event__Output as _berth_v1_Event__Output } from './berth/v1/Event.js';
import type { ExecClientMessage as _berth_v1_ExecClientMessage, ExecClientMessage__Output as _berth_v1_ExecClientMessage__Output } from './berth/v1/ExecClientMessage.js';
import type { ExecRequest as _berth_v1_ExecRequest, ExecRequest__Output as _berth_v1_ExecRequest__Output } from './berth/v1/ExecRequest.js';
import type { ExecResult as _berth_v1_ExecResult, ExecResult__Output as _berth_v1_ExecResult__Output } from './berth/v1/ExecResult.js';
import type { ExecServerMessage as _berth_v1_ExecServerMessage, ExecServerMessage__Output as _berth_v1_ExecServerMessage__Output } from './berth/v1/ExecServerMessage.js';
import type { ExecStarted as _berth_v1_ExecStarted, ExecStarted__Output as _berth_v1_ExecStarted__Output } from './berth/v1/ExecStarted.js';
import type { ExecStdinEof as _berth_v1_ExecStdinEof, ExecStdinEof__Output as _berth_v1_ExecStdinEof__Output } from './berth/v1/ExecStdinEof.js';
import type { FailoverState as _berth_v1_FailoverState, FailoverState__Output as _berth_v1_FailoverState__Output } from './berth/v1/FailoverState.js';
import type { FieldChange as _berth_v1_FieldChange, FieldChange__Output as _berth_v1_FieldChange__Output } from './berth/v1/FieldChange.js';
import type { Filesystem as _berth_v1_Filesystem, Filesystem__Output as _berth_v1_Filesystem__Output } from './berth/v1/Filesystem.js';
import type { ForgetControllerRequest as _berth_v1_ForgetControllerRequest, ForgetControllerRequest__Output as _berth_v1_ForgetControllerRequest__Output } from './berth/v1/ForgetControllerRequest.js';
import type { ForgetControllerResponse as _berth_v1_ForgetControllerResponse, ForgetControllerResponse__Output as _berth_v1_ForgetControllerResponse__Output } from './berth/v1/ForgetControllerResponse.js';
import type { GetCaStatusRequest as _berth_v1_GetCaStatusRequest, GetCaStatusRequest__Output as _berth_v1_GetCaStatusRequest__Output } from './berth/v1/GetCaStatusRequest.js';
import type { GetHostRequest as _berth_v1_GetHostRequest, GetHostRequest__Output as _berth_v1_GetHostRequest__Output } from './berth/v1/GetHostRequest.js';
import type { GitopsCommit as _berth_v1_GitopsCommit, GitopsCommit__Output as _berth_v1_GitopsCommit__Output } from './berth/v1/GitopsCommit.js';
import type { GitopsRollout as _berth_v1_GitopsRollout, GitopsRollout__Output as _berth_v1_GitopsRollout__Output } from './berth/v1/GitopsRollout.js';
import type { GitopsSource as _berth_v1_GitopsSource, GitopsSource__Output as _berth_v1_GitopsSource__Output } from './berth/v1/GitopsSource.js';
import type { GitopsSourceRef as _berth_v1_GitopsSourceRef, GitopsSourceRef__Output as _berth_v1_GitopsSourceRef__Output } from './berth/v1/GitopsSourceRef.js';
import type { GitopsSourceView as _berth_v1_GitopsSourceView, GitopsSourceView__Output as _berth_v1_GitopsSourceView__Output } from './berth/v1/GitopsSourceView.js';
import type { HasArtifactRequest as _berth_v1_HasArtifactRequest, HasArtifactRequest__Output as _berth_v1_HasArtifactRequest__Output } from './berth/v1/HasArtifactRequest.js';
import type { HasArtifactResponse as _berth_v1_HasArtifactResponse, HasArtifactResponse__Output as _berth_v1_HasArtifactResponse__Output } from './berth/v1/HasArtifactResponse.js';
import type { Host as _berth_v1_Host, Host__Output as _berth_v1_Host__Output } from './berth/v1/Host.js';
import type { HostFacts as _berth_v1_HostFacts, HostFacts__Output as _berth_v1_HostFacts__Output } from './berth/v1/HostFacts.js';
import type { InstanceView as _berth_v1_InstanceView, InstanceView__Output as _berth_v1_InstanceView__Output } from './berth/v1/InstanceView.js';
import type { LbApplied as _berth_v1_LbApplied, LbApplied__Output as _berth_v1_LbApplied__Output } from './berth/v1/LbApplied.js';
import type { LeftCopyView as _berth_v1_LeftCopyView, LeftCopyView__Output as _berth_v1_LeftCopyView__Output } from './berth/v1/LeftCopyView.js';
import type { ListAuditRequest as _berth_v1_ListAuditRequest, ListAuditRequest__Output as _berth_v1_ListAuditRequest__Output } from './berth/v1/ListAuditRequest.js';
import type { ListAuditResponse as _berth_v1_ListAuditResponse, ListAuditResponse__Output as _berth_v1_ListAuditResponse__Output } from './berth/v1/ListAuditResponse.js';
import type { ListControllersRequest as _berth_v1_ListControllersRequest, ListControllersRequest__Output as _berth_v1_ListControllersRequest__Output } from './berth/v1/ListControllersRequest.js';
import type { ListControllersResponse as _berth_v1_ListControllersResponse, ListControllersResponse__Output as _berth_v1_ListControllersResponse__Output } from './berth/v1/ListControllersResponse.js';
import type { ListEventsRequest as _berth_v1_ListEventsRequest, ListEventsRequest__Output as _berth_v1_ListEventsRequest__Output } from './berth/v1/ListEventsRequest.js';
import type { ListEventsResponse as _berth_v1_ListEventsResponse, ListEventsResponse__Output as _berth_v1_ListEventsResponse__Output } from './berth/v1/ListEventsResponse.js';
import type { ListGitopsSourcesRequest as _berth_v1_ListGitopsSourcesRequest, ListGitopsSourcesRequest__Output as _berth_v1_ListGitopsSourcesRequest__Output } from './berth/v1/ListGitopsSourcesRequest.js';
import type { ListGitopsSourcesResponse as _berth_v1_ListGitopsSourcesResponse, ListGitopsSourcesResponse__Output as _berth_v1_ListGitopsSourcesResponse__Output } from './berth/v1/ListGitopsSourcesResponse.js';
import type { ListHostsRequest as _berth_v1_ListHostsRequest, ListHostsRequest__Output as _berth_v1_ListHostsRequest__Output } from './berth/v1/ListHostsRequest.js';
import type { ListHostsResponse as _berth_v1_ListHostsResponse, ListHostsResponse__Output as _berth_v1_ListHostsResponse__Output } from './berth/v1/ListHostsResponse.js';
import type { ListSecretsRequest as _berth_v1_ListSecretsRequest, ListSecretsRequest__Output as _berth_v1_ListSecretsRequest__Output } from './berth/v1/ListSecretsRequest.js';
import type { ListSecretsResponse as _berth_v1_ListSecretsResponse, ListSecretsResponse__Output as _berth_v1_ListSecretsResponse__Output } from './berth/v1/ListSecretsResponse.js';
import type { ListServicesRequest as _berth_v1_ListServicesRequest, ListServicesRequest__Output as _berth_v1_ListServicesRequest__Output } from './berth/v1/ListServicesRequest.js';
import type { ListServicesResponse as _berth_v1_ListServicesResponse, ListServicesResponse__Output as _berth_v1_ListServicesResponse__Output } from './berth/v1/ListServicesResponse.js';
import type { ListTokensRequest as _berth_v1_ListTokensRequest, ListTokensRequest__Output as _berth_v1_ListTokensRequest__Output } from './berth/v1/ListTokensRequest.js';
import type { ListTokensResponse as _berth_v1_ListTokensResponse, ListTokensResponse__Output as _berth_v1_ListTokensResponse__Output } from './berth/v1/ListTokensResponse.js';
import type { LogsChunk as _berth_v1_LogsChunk, LogsChunk__Output as _berth_v1_LogsChunk__Output } from './berth/v1/LogsChunk.js';
import type { LogsRequest as _berth_v1_LogsRequest, LogsRequest__Output as _berth_v1_LogsRequest__Output } from './berth/v1/LogsRequest.js';
import type { MemberServiceClient as _berth_v1_MemberServiceClient, MemberServiceDefinition as _berth_v1_MemberServiceDefinition } from './berth/v1/MemberService.js';
import type { NetInterface as _berth_v1_NetInterface, NetInterface__Output as _berth_v1_NetInterface__Output } from './berth/v1/NetInterface.js';
import type { OperatorServiceClient as _berth_v1_OperatorServiceClient, OperatorServiceDefinition as _berth_v1_OperatorServiceDefinition } from './berth/v1/OperatorService.js';
import type { PlaceRequest as _berth_v1_PlaceRequest, PlaceRequest__Output as _berth_v1_PlaceRequest__Output } from './berth/v1/PlaceRequest.js';
import type { ReconcileError as _berth_v1_ReconcileError, ReconcileError__Output as _berth_v1_ReconcileError__Output } from './berth/v1/ReconcileError.js';
import type { RemoveHostRequest as _berth_v1_RemoveHostRequest, RemoveHostRequest__Output as _berth_v1_RemoveHostRequest__Output } from './berth/v1/RemoveHostRequest.js';
import type { ReportLbAppliedResponse as _berth_v1_ReportLbAppliedResponse, ReportLbAppliedResponse__Output as _berth_v1_ReportLbAppliedResponse__Output } from './berth/v1/ReportLbAppliedResponse.js';
import type { ResumeFailoverRequest as _berth_v1_ResumeFailoverRequest, ResumeFailoverRequest__Output as _berth_v1_ResumeFailoverRequest__Output } from './berth/v1/ResumeFailoverRequest.js';
import type { RevokeTokenRequest as _berth_v1_RevokeTokenRequest, RevokeTokenRequest__Output as _berth_v1_RevokeTokenRequest__Output } from './berth/v1/RevokeTokenRequest.js';
import type { RolloutControlRequest as _berth_v1_RolloutControlRequest, RolloutControlRequest__Output as _berth_v1_RolloutControlRequest__Output } from './berth/v1/RolloutControlRequest.js';
import type { RolloutSlot as _berth_v1_RolloutSlot, RolloutSlot__Output as _berth_v1_RolloutSlot__Output } from './berth/v1/RolloutSlot.js';
import type { RolloutView as _berth_v1_RolloutView, RolloutView__Output as _berth_v1_RolloutView__Output } from './berth/v1/RolloutView.js';
import type { RotateCaRequest as _berth_v1_RotateCaRequest, RotateCaRequest__Output as _berth_v1_RotateCaRequest__Output } from './berth/v1/RotateCaRequest.js';
import type { SecretInfo as _berth_v1_SecretInfo, SecretInfo__Output as _berth_v1_SecretInfo__Output } from './berth/v1/SecretInfo.js';
import type { SecretRef as _berth_v1_SecretRef, SecretRef__Output as _berth_v1_SecretRef__Output } from './berth/v1/SecretRef.js';
import type { ServiceChange as _berth_v1_ServiceChange, ServiceChange__Output as _berth_v1_ServiceChange__Output } from './berth/v1/ServiceChange.js';
import type { ServiceHistory as _berth_v1_ServiceHistory, ServiceHistory__Output as _berth_v1_ServiceHistory__Output } from './berth/v1/ServiceHistory.js';
import type { ServiceRef as _berth_v1_ServiceRef, ServiceRef__Output as _berth_v1_ServiceRef__Output } from './berth/v1/ServiceRef.js';
import type { ServiceRevision as _berth_v1_ServiceRevision, ServiceRevision__Output as _berth_v1_ServiceRevision__Output } from './berth/v1/ServiceRevision.js';
import type { ServiceStatus as _berth_v1_ServiceStatus, ServiceStatus__Output as _berth_v1_ServiceStatus__Output } from './berth/v1/ServiceStatus.js';
import type { ServiceSummary as _berth_v1_ServiceSummary, ServiceSummary__Output as _berth_v1_ServiceSummary__Output } from './berth/v1/ServiceSummary.js';
import type { SetGitopsSuspendedRequest as _berth_v1_SetGitopsSuspendedRequest, SetGitopsSuspendedRequest__Output as _berth_v1_SetGitopsSuspendedRequest__Output } from './berth/v1/SetGitopsSuspendedRequest.js';
import type { SetSecretRequest as _berth_v1_SetSecretRequest, SetSecretRequest__Output as _berth_v1_SetSecretRequest__Output } from './berth/v1/SetSecretRequest.js';
import type { SpecFile as _berth_v1_SpecFile, SpecFile__Output as _berth_v1_SpecFile__Output } from './berth/v1/SpecFile.js';
import type { StoreRevisionCheck as _berth_v1_StoreRevisionCheck, StoreRevisionCheck__Output as _berth_v1_StoreRevisionCheck__Output } from './berth/v1/StoreRevisionCheck.js';
import type { TerminalSize as _berth_v1_TerminalSize, TerminalSize__Output as _berth_v1_TerminalSize__Output } from './berth/v1/TerminalSize.js';
import type { TokenInfo as _berth_v1_TokenInfo, TokenInfo__Output as _berth_v1_TokenInfo__Output } from './berth/v1/TokenInfo.js';
import type { Usage as _berth_v1_Usage, Usage__Output as _berth_v1_Usage__Output } from './berth/v1/Usage.js';
import type { WatchEventsRequest as _berth_v1_WatchEventsRequest, WatchEventsRequest__Output as _berth_v1_WatchEventsRequest__Output } from './berth/v1/WatchEventsRequest.js';
import type { WhoAmIRequest as _berth_v1_WhoAmIRequest, WhoAmIRequest__Output as _berth_v1_WhoAmIRequest__Output } from './berth/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _berth_v1_WhoAmIResponse, WhoAmIResponse__Output as _berth_v1_WhoAmIResponse__Output } from './berth/v1/WhoAmIResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  berth: {
    v1: {
      ApplyRequest: MessageTypeDefinition<_berth_v1_ApplyRequest, _berth_v1_ApplyRequest__Output>
      ApplyResponse: MessageTypeDefinition<_berth_v1_ApplyResponse, _berth_v1_ApplyResponse__Output>
      ArtifactUpload: MessageTypeDefinition<_berth_v1_ArtifactUpload, _berth_v1_ArtifactUpload__Output>
      AuditEntry: MessageTypeDefinition<_berth_v1_AuditEntry, _berth_v1_AuditEntry__Output>
      CaCertInfo: MessageTypeDefinition<_berth_v1_CaCertInfo, _berth_v1_CaCertInfo__Output>
      CaStatus: MessageTypeDefinition<_berth_v1_CaStatus, _berth_v1_CaStatus__Output>
      ControllerMember: MessageTypeDefinition<_berth_v1_ControllerMember, _berth_v1_ControllerMember__Output>
      CordonRequest: MessageTypeDefinition<_berth_v1_CordonRequest, _berth_v1_CordonRequest__Output>
      CreateTokenRequest: MessageTypeDefinition<_berth_v1_CreateTokenRequest, _berth_v1_CreateTokenRequest__Output>
      CreateTokenResponse: MessageTypeDefinition<_berth_v1_CreateTokenResponse, _berth_v1_CreateTokenResponse__Output>
      Disk: MessageTypeDefinition<_berth_v1_Disk, _berth_v1_Disk__Output>
      Endpoint: MessageTypeDefinition<_berth_v1_Endpoint, _berth_v1_Endpoint__Output>
      Endpoints: MessageTypeDefinition<_berth_v1_Endpoints, _berth_v1_Endpoints__Output>
      EnsureArtifactRequest: MessageTypeDefinition<_berth_v1_EnsureArtifactRequest, _berth_v1_EnsureArtifactRequest__Output>
      EtcdEndpoint: MessageTypeDefinition<_berth_v1_EtcdEndpoint, _berth_v1_EtcdEndpoint__Output>
      Event: MessageTypeDefinition<_berth_v1_Event, _berth_v1_Event__Output>
      ExecClientMessage: MessageTypeDefinition<_berth_v1_ExecClientMessage, _berth_v1_ExecClientMessage__Output>
      ExecRequest: MessageTypeDefinition<_berth_v1_ExecRequest, _berth_v1_ExecRequest__Output>
      ExecResult: MessageTypeDefinition<_berth_v1_ExecResult, _berth_v1_ExecResult__Output>
      ExecServerMessage: MessageTypeDefinition<_berth_v1_ExecServerMessage, _berth_v1_ExecServerMessage__Output>
      ExecStarted: MessageTypeDefinition<_berth_v1_ExecStarted, _berth_v1_ExecStarted__Output>
      ExecStdinEof: MessageTypeDefinition<_berth_v1_ExecStdinEof, _berth_v1_ExecStdinEof__Output>
      FailoverState: MessageTypeDefinition<_berth_v1_FailoverState, _berth_v1_FailoverState__Output>
      FieldChange: MessageTypeDefinition<_berth_v1_FieldChange, _berth_v1_FieldChange__Output>
      Filesystem: MessageTypeDefinition<_berth_v1_Filesystem, _berth_v1_Filesystem__Output>
      ForgetControllerRequest: MessageTypeDefinition<_berth_v1_ForgetControllerRequest, _berth_v1_ForgetControllerRequest__Output>
      ForgetControllerResponse: MessageTypeDefinition<_berth_v1_ForgetControllerResponse, _berth_v1_ForgetControllerResponse__Output>
      GetCaStatusRequest: MessageTypeDefinition<_berth_v1_GetCaStatusRequest, _berth_v1_GetCaStatusRequest__Output>
      GetHostRequest: MessageTypeDefinition<_berth_v1_GetHostRequest, _berth_v1_GetHostRequest__Output>
      GitopsCommit: MessageTypeDefinition<_berth_v1_GitopsCommit, _berth_v1_GitopsCommit__Output>
      GitopsRollout: MessageTypeDefinition<_berth_v1_GitopsRollout, _berth_v1_GitopsRollout__Output>
      GitopsSource: MessageTypeDefinition<_berth_v1_GitopsSource, _berth_v1_GitopsSource__Output>
      GitopsSourceRef: MessageTypeDefinition<_berth_v1_GitopsSourceRef, _berth_v1_GitopsSourceRef__Output>
      GitopsSourceView: MessageTypeDefinition<_berth_v1_GitopsSourceView, _berth_v1_GitopsSourceView__Output>
      HasArtifactRequest: MessageTypeDefinition<_berth_v1_HasArtifactRequest, _berth_v1_HasArtifactRequest__Output>
      HasArtifactResponse: MessageTypeDefinition<_berth_v1_HasArtifactResponse, _berth_v1_HasArtifactResponse__Output>
      Host: MessageTypeDefinition<_berth_v1_Host, _berth_v1_Host__Output>
      HostFacts: MessageTypeDefinition<_berth_v1_HostFacts, _berth_v1_HostFacts__Output>
      InstanceView: MessageTypeDefinition<_berth_v1_InstanceView, _berth_v1_InstanceView__Output>
      LbApplied: MessageTypeDefinition<_berth_v1_LbApplied, _berth_v1_LbApplied__Output>
      LeftCopyView: MessageTypeDefinition<_berth_v1_LeftCopyView, _berth_v1_LeftCopyView__Output>
      ListAuditRequest: MessageTypeDefinition<_berth_v1_ListAuditRequest, _berth_v1_ListAuditRequest__Output>
      ListAuditResponse: MessageTypeDefinition<_berth_v1_ListAuditResponse, _berth_v1_ListAuditResponse__Output>
      ListControllersRequest: MessageTypeDefinition<_berth_v1_ListControllersRequest, _berth_v1_ListControllersRequest__Output>
      ListControllersResponse: MessageTypeDefinition<_berth_v1_ListControllersResponse, _berth_v1_ListControllersResponse__Output>
      ListEventsRequest: MessageTypeDefinition<_berth_v1_ListEventsRequest, _berth_v1_ListEventsRequest__Output>
      ListEventsResponse: MessageTypeDefinition<_berth_v1_ListEventsResponse, _berth_v1_ListEventsResponse__Output>
      ListGitopsSourcesRequest: MessageTypeDefinition<_berth_v1_ListGitopsSourcesRequest, _berth_v1_ListGitopsSourcesRequest__Output>
      ListGitopsSourcesResponse: MessageTypeDefinition<_berth_v1_ListGitopsSourcesResponse, _berth_v1_ListGitopsSourcesResponse__Output>
      ListHostsRequest: MessageTypeDefinition<_berth_v1_ListHostsRequest, _berth_v1_ListHostsRequest__Output>
      ListHostsResponse: MessageTypeDefinition<_berth_v1_ListHostsResponse, _berth_v1_ListHostsResponse__Output>
      ListSecretsRequest: MessageTypeDefinition<_berth_v1_ListSecretsRequest, _berth_v1_ListSecretsRequest__Output>
      ListSecretsResponse: MessageTypeDefinition<_berth_v1_ListSecretsResponse, _berth_v1_ListSecretsResponse__Output>
      ListServicesRequest: MessageTypeDefinition<_berth_v1_ListServicesRequest, _berth_v1_ListServicesRequest__Output>
      ListServicesResponse: MessageTypeDefinition<_berth_v1_ListServicesResponse, _berth_v1_ListServicesResponse__Output>
      ListTokensRequest: MessageTypeDefinition<_berth_v1_ListTokensRequest, _berth_v1_ListTokensRequest__Output>
      ListTokensResponse: MessageTypeDefinition<_berth_v1_ListTokensResponse, _berth_v1_ListTokensResponse__Output>
      LogsChunk: MessageTypeDefinition<_berth_v1_LogsChunk, _berth_v1_LogsChunk__Output>
      LogsRequest: MessageTypeDefinition<_berth_v1_LogsRequest, _berth_v1_LogsRequest__Output>
      MemberService: SubtypeConstructor<typeof grpc.Client, _berth_v1_MemberServiceClient> & { service: _berth_v1_MemberServiceDefinition }
      NetInterface: MessageTypeDefinition<_berth_v1_NetInterface, _berth_v1_NetInterface__Output>
      OperatorService: SubtypeConstructor<typeof grpc.Client, _berth_v1_OperatorServiceClient> & { service: _berth_v1_OperatorServiceDefinition }
      PlaceRequest: MessageTypeDefinition<_berth_v1_PlaceRequest, _berth_v1_PlaceRequest__Output>
      ReconcileError: MessageTypeDefinition<_berth_v1_ReconcileError, _berth_v1_ReconcileError__Output>
      RemoveHostRequest: MessageTypeDefinition<_berth_v1_RemoveHostRequest, _berth_v1_RemoveHostRequest__Output>
      ReportLbAppliedResponse: MessageTypeDefinition<_berth_v1_ReportLbAppliedResponse, _berth_v1_ReportLbAppliedResponse__Output>
      ResumeFailoverRequest: MessageTypeDefinition<_berth_v1_ResumeFailoverRequest, _berth_v1_ResumeFailoverRequest__Output>
      RevokeTokenRequest: MessageTypeDefinition<_berth_v1_RevokeTokenRequest, _berth_v1_RevokeTokenRequest__Output>
      RolloutControlRequest: MessageTypeDefinition<_berth_v1_RolloutControlRequest, _berth_v1_RolloutControlRequest__Output>
      RolloutSlot: MessageTypeDefinition<_berth_v1_RolloutSlot, _berth_v1_RolloutSlot__Output>
      RolloutView: MessageTypeDefinition<_berth_v1_RolloutView, _berth_v1_RolloutView__Output>
      RotateCaRequest: MessageTypeDefinition<_berth_v1_RotateCaRequest, _berth_v1_RotateCaRequest__Output>
      SecretInfo: MessageTypeDefinition<_berth_v1_SecretInfo, _berth_v1_SecretInfo__Output>
      SecretRef: MessageTypeDefinition<_berth_v1_SecretRef, _berth_v1_SecretRef__Output>
      ServiceChange: MessageTypeDefinition<_berth_v1_ServiceChange, _berth_v1_ServiceChange__Output>
      ServiceHistory: MessageTypeDefinition<_berth_v1_ServiceHistory, _berth_v1_ServiceHistory__Output>
      ServiceRef: MessageTypeDefinition<_berth_v1_ServiceRef, _berth_v1_ServiceRef__Output>
      ServiceRevision: MessageTypeDefinition<_berth_v1_ServiceRevision, _berth_v1_ServiceRevision__Output>
      ServiceStatus: MessageTypeDefinition<_berth_v1_ServiceStatus, _berth_v1_ServiceStatus__Output>
      ServiceSummary: MessageTypeDefinition<_berth_v1_ServiceSummary, _berth_v1_ServiceSummary__Output>
      SetGitopsSuspendedRequest: MessageTypeDefinition<_berth_v1_SetGitopsSuspendedRequest, _berth_v1_SetGitopsSuspendedRequest__Output>
      SetSecretRequest: MessageTypeDefinition<_berth_v1_SetSecretRequest, _berth_v1_SetSecretRequest__Output>
      SpecFile: MessageTypeDefinition<_berth_v1_SpecFile, _berth_v1_SpecFile__Output>
      StoreRevisionCheck: MessageTypeDefinition<_berth_v1_StoreRevisionCheck, _berth_v1_StoreRevisionCheck__Output>
      TerminalSize: MessageTypeDefinition<_berth_v1_TerminalSize, _berth_v1_TerminalSize__Output>
      TokenInfo: MessageTypeDefinition<_berth_v1_TokenInfo, _berth_v1_TokenInfo__Output>
      Usage: MessageTypeDefinition<_berth_v1_Usage, _berth_v1_Usage__Output>
      WatchEventsRequest: MessageTypeDefinition<_berth_v1_WatchEventsRequest, _berth_v1_WatchEventsRequest__Output>
      WhoAmIRequest: MessageTypeDefinition<_berth_v1_WhoAmIRequest, _berth_v1_WhoAmIRequest__Output>
      WhoAmIResponse: MessageTypeDefinition<_berth_v1_WhoAmIResponse, _berth_v1_WhoAmIResponse__Output>
    }
  }
}

