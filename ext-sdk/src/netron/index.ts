// `titan/netron`: the Netron client (connect, typed proxies, streams, events, reconnection, auth)
// and the wire types callers meet in answers and errors.

export { connect, backoffDelay, Peer } from "./client.js";
export type { AuthCredentials, AuthResult, CallOptions, ConnectOptions, EventHandler, PeerEvents, PeerState, ReconnectOptions } from "./client.js";
export { ACCEPTED_ADDRESS_FORMS, parseAddress } from "./address.js";
export type { NetronAddress } from "./address.js";
export { ErrorCode, NetronClientError } from "./errors.js";
export type { ClientErrorReason } from "./errors.js";
export { qualifiedName } from "./remote.js";
export type { Remote, RemoteCall, RemoteMethod, RemoteOf, RemoteProperties, RemoteResult, RemoteStreamCall, ServiceDefinitionLike, UntypedRemote } from "./remote.js";
export { RemoteStream } from "./stream.js";
export type { TlsOptions } from "./transport.js";
export { Definition, Long, NetronDecodeError, NetronEncodeError, Reference, StreamReference, TitanError } from "./codec.js";
