// Test certificates for tls://: the repository's one generator (a CA, server and client
// certificates, and a stranger from another CA), shared with the Node client's tests.
export { generateTlsFiles, type TlsFiles } from "../../../core-runtime/js/netron/testing/tls-certs.js";
