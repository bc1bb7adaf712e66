#pragma once
// Certificates for TLS on loopback: the simulators and the tests serve real TLS with a CA made at start, and
// the engine trusts that CA explicitly (config `ca_file`), exactly as it would trust a private CA in
// production. Nothing here is used to reach a real venue.
#include <string>

namespace sigflow::io {

struct LoopbackCertificates {
  std::string ca_pem;    // the CA certificate: what clients trust
  std::string cert_pem;  // server certificate for 127.0.0.1, ::1 and localhost, signed by the CA
  std::string key_pem;   // the server certificate's private key
};

// Makes a fresh CA (P-256, valid one day) and a server certificate signed by it. Throws std::runtime_error
// with OpenSSL's reason when key generation or signing fails: this runs at start-up, never on a hot path.
LoopbackCertificates make_loopback_certificates();

}  // namespace sigflow::io
