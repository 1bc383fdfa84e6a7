// Certificates minted with OpenSSL: an EC P-256 CA valid for ten years and a server certificate
// valid for one, with the extensions strict verifiers (Python 3.13's VERIFY_X509_STRICT) ask for.
#include "server/tls.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "amlemu/service.hpp"  // the storage suffix
#include "common/fs.hpp"

namespace amlemu::server {

namespace stdfs = std::filesystem;

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("TLS: " + what + " failed (OpenSSL)");
}

Key new_key() {
  Key k(EVP_EC_gen("P-256"));
  if (!k) fail("generating a P-256 key");
  return k;
}

std::string pem_of(const Cert& c) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), c.get()) != 1) fail("writing a certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string pem_of(const Key& k) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_PrivateKey(b.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("writing a key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Cert read_cert(const stdfs::path& file) {
  const auto text = fs::read_file(file);
  Bio b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  Cert c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) throw std::runtime_error(file.string() + ": not a PEM certificate");
  return c;
}

Key read_key(const stdfs::path& file) {
  const auto text = fs::read_file(file);
  Bio b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  Key k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  if (!k) throw std::runtime_error(file.string() + ": not a PEM private key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("adding extension " + value);
}

// A certificate for `subject_key`, signed by `issuer_key` (itself when issuer is null).
Cert make_cert(const std::string& common_name, EVP_PKEY* subject_key, X509* issuer,
               EVP_PKEY* issuer_key, long days, bool is_ca, const std::string& san) {
  Cert c(X509_new());
  if (!c) fail("allocating a certificate");
  X509_set_version(c.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("drawing a serial number");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("amlemu"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(c.get(), subject_key);
  X509* iss = issuer ? issuer : c.get();
  if (is_ca) {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(c.get(), iss, NID_ext_key_usage, "serverAuth");
    add_ext(c.get(), iss, NID_subject_alt_name, san);
  }
  add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
  add_ext(c.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(c.get(), issuer_key, EVP_sha256()) == 0) fail("signing a certificate");
  return c;
}

std::string server_san() {
  const std::string s = kServiceStorageSuffix;
  std::string san = "IP:127.0.0.1,DNS:localhost,DNS:" + s + ",DNS:*." + s;
  for (const char* service : {"blob", "dfs", "file", "queue", "table"}) {
    san += std::string(",DNS:*.") + service + "." + s;
  }
  return san;
}

void write_secret(const stdfs::path& file, const std::string& text) {
  auto tmp = file;
  tmp += ".tmp";
  {
    fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) fs::throw_errno("cannot write", tmp);
    fs::write_all(fd.get(), text.data(), text.size(), tmp);
    ::fsync(fd.get());
  }
  stdfs::rename(tmp, file);
}

bool expires_within(X509* cert, int days) {
  ASN1_TIME* limit = X509_time_adj_ex(nullptr, days, 0, nullptr);
  const int cmp = ASN1_TIME_compare(X509_get0_notAfter(cert), limit);
  ASN1_TIME_free(limit);
  return cmp <= 0;
}

// The machine's public CAs, so one bundle serves both amlemu and the rest of the shell.
std::string system_cas() {
  for (const char* f : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/ssl/cert.pem"}) {
    std::error_code ec;
    if (stdfs::is_regular_file(f, ec)) return fs::read_file(f);
  }
  return "";
}

}  // namespace

void ensure_certificates(const stdfs::path& dir) {
  stdfs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  fs::Fd lock(::open((dir / "tls.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0) fs::throw_errno("cannot open", dir / "tls.lock");
  ::flock(lock.get(), LOCK_EX);  // released when the descriptor closes

  const auto ca_pem = dir / "ca.pem", ca_key = dir / "ca-key.pem";
  const auto srv_pem = dir / "server.pem", srv_key = dir / "server-key.pem";
  std::error_code ec;
  bool new_ca = false;
  if (!stdfs::exists(ca_pem, ec) || !stdfs::exists(ca_key, ec) ||
      expires_within(read_cert(ca_pem).get(), 60)) {
    auto key = new_key();
    auto ca = make_cert("amlemu local certificate authority", key.get(), nullptr, key.get(),
                        3650, true, "");
    write_secret(ca_key, pem_of(key));
    fs::atomic_write(ca_pem, pem_of(ca));
    new_ca = true;
  }
  const auto ca = read_cert(ca_pem);
  if (new_ca || !stdfs::exists(srv_pem, ec) || !stdfs::exists(srv_key, ec) ||
      expires_within(read_cert(srv_pem).get(), 30)) {
    auto ca_k = read_key(ca_key);
    auto key = new_key();
    auto cert = make_cert("amlemu service plane", key.get(), ca.get(), ca_k.get(), 365, false,
                          server_san());
    write_secret(srv_key, pem_of(key));
    fs::atomic_write(srv_pem, pem_of(cert) + pem_of(ca));
  }
  const auto bundle = fs::read_file(ca_pem) + system_cas();
  const auto bundle_file = dir / "ca-bundle.pem";
  if (!stdfs::exists(bundle_file, ec) || fs::read_file(bundle_file) != bundle) {
    fs::atomic_write(bundle_file, bundle);
  }
}

boost::asio::ssl::context server_context(const stdfs::path& dir) {
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
  ctx.set_options(boost::asio::ssl::context::default_workarounds |
                  boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                  boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
  ctx.use_certificate_chain_file((dir / "server.pem").string());
  ctx.use_private_key_file((dir / "server-key.pem").string(), boost::asio::ssl::context::pem);
  return ctx;
}

}  // namespace amlemu::server
