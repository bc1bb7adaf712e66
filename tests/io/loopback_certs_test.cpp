#include "io/loopback_certs.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

namespace {

X509* parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// Verifies `leaf` against a store holding only `ca`; returns the X509 verify result.
int verify(X509* leaf, X509* ca) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), "localhost", 0);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return err;
}

TEST(LoopbackCertificates, ServerCertificateChainsToTheCaAndNamesLoopback) {
  const auto certs = sigflow::io::make_loopback_certificates();
  X509* ca = parse(certs.ca_pem);
  X509* leaf = parse(certs.cert_pem);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(verify(leaf, ca), X509_V_OK);
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(leaf, "localhost", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(leaf, "fstream.binance.com", 0, 0, nullptr), 1);
  EXPECT_NE(certs.key_pem.find("PRIVATE KEY"), std::string::npos);
  X509_free(leaf);
  X509_free(ca);
}

TEST(LoopbackCertificates, EachCallMakesADifferentCa) {
  const auto a = sigflow::io::make_loopback_certificates();
  const auto b = sigflow::io::make_loopback_certificates();
  X509* ca_a = parse(a.ca_pem);
  X509* leaf_b = parse(b.cert_pem);
  EXPECT_NE(verify(leaf_b, ca_a), X509_V_OK);  // a certificate from another CA is not trusted
  X509_free(leaf_b);
  X509_free(ca_a);
}

}  // namespace
