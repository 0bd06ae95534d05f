// Ed25519 signatures of audit entries (OpenSSL). An entry's signature is
// "ed25519:<key id>:<base64 of the signature of its 64-hex id>"; the key id
// is the first 16 hex of sha256 of the raw 32-byte public key, and public
// keys live in the repository as .cairn/keys/<key id>.pub (PEM).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "audit/audit_internal.h"
#include "cairn/audit.h"
#include "util/file.h"

namespace cairn {
namespace audit_internal {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string KeyId(EVP_PKEY* key) {
  unsigned char raw[64];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) return "";
  return HexSha256(std::string_view(reinterpret_cast<char*>(raw), len)).substr(0, 16);
}

Pkey ReadPem(const std::string& text, bool is_private) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return nullptr;
  EVP_PKEY* k = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                           : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (k && EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return nullptr;
  }
  return Pkey(k);
}

std::string WritePem(EVP_PKEY* key, bool is_private) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  int ok = is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                      : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

bool Unbase64(std::string_view text, std::string* out) {
  if (text.empty() || text.size() % 4) return false;
  out->assign(text.size() / 4 * 3 + 1, '\0');
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (len < 0) return false;
  size_t pad = (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out->resize(static_cast<size_t>(len) - pad);
  return true;
}

}  // namespace

Result<std::string> SignId(const Layout& layout, const std::string& id) {
  const std::string path = AuditKeyPath();
  const char* env = std::getenv("CAIRN_AUDIT_KEY");
  const bool chosen = env && *env;  // named by the user: its absence is a mistake, not "unsigned"
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && !chosen) return std::string();  // unsigned: no key
    if (errno == ENOENT) {
      return Status::InvalidArgument("$CAIRN_AUDIT_KEY names " + path + ", which does not exist",
                                     "make a key there with 'cairn audit keygen', or unset CAIRN_AUDIT_KEY to "
                                     "append unsigned entries");
    }
    return Status::FromErrno("cannot read the audit signing key " + path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("the audit signing key " + path + " is not a file",
                                   "point $CAIRN_AUDIT_KEY at the private key 'cairn audit keygen' wrote");
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied("the audit signing key " + path + " can be read by other users (mode " + mode + ")",
                                    "run 'chmod 600 " + path + "': a key others can read lets them sign as you");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Pkey key = ReadPem(text, /*is_private=*/true);
  if (!key) {
    return Status::InvalidArgument("audit signing key " + path + " is not an Ed25519 private key (PEM)",
                                   "make one with 'cairn audit keygen --force', or point $CAIRN_AUDIT_KEY elsewhere");
  }
  // A key made in another repository: without its public key here, every
  // entry it signs would fail this repository's verify. The public key is
  // added (commit it, as after keygen).
  std::filesystem::path pub = KeyPath(layout, KeyId(key.get()));
  std::error_code ec;
  if (!std::filesystem::exists(pub, ec)) {
    std::string pem = WritePem(key.get(), /*is_private=*/false);
    if (pem.empty()) return Status::IOError("cannot encode the public half of " + path);
    CAIRN_RETURN_IF_ERROR(MakeDirs(KeysDirPath(layout)));
    CAIRN_RETURN_IF_ERROR(WriteFileAtomic(pub, pem, /*sync=*/true));
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(id.data()), id.size()) != 1) {
    return Status::IOError("cannot sign audit entry " + ShortId(id) + " with " + path);
  }
  return "ed25519:" + KeyId(key.get()) + ":" + Base64(sig, len);
}

KeyRing::~KeyRing() {
  for (auto& [id, key] : keys_) EVP_PKEY_free(static_cast<EVP_PKEY*>(key));
}

Status KeyRing::Load(const std::string& keys_dir, std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!std::filesystem::is_directory(keys_dir, ec)) return Status::OK();
  for (const auto& entry : std::filesystem::directory_iterator(keys_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".pub") continue;
    auto text = ReadFile(entry.path());
    Pkey key = text.ok() ? ReadPem(*text, /*is_private=*/false) : nullptr;
    std::string id = key ? KeyId(key.get()) : "";
    if (!key || id + ".pub" != name) {
      skipped->push_back(name);
      continue;
    }
    keys_.emplace_back(id, key.release());
  }
  if (ec) return Status::FromErrno("cannot list " + keys_dir, ec.value());
  return Status::OK();
}

Status KeyRing::Check(std::string_view id, std::string_view signature) const {
  // ed25519:<16 hex>:<base64>
  if (signature.substr(0, 8) != "ed25519:" || signature.size() < 8 + 17 || signature[8 + 16] != ':') {
    return Status::Corruption("its signature is not in the form ed25519:<key id>:<base64>");
  }
  std::string key_id(signature.substr(8, 16));
  EVP_PKEY* key = nullptr;
  for (const auto& [kid, k] : keys_) {
    if (kid == key_id) key = static_cast<EVP_PKEY*>(k);
  }
  if (!key) return Status::NotFound("it is signed by key " + key_id + ", which is not in .cairn/keys/");
  std::string sig;
  if (!Unbase64(signature.substr(8 + 17), &sig)) return Status::Corruption("its signature is not valid base64");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(id.data()), id.size()) != 1) {
    return Status::Corruption("its signature by key " + key_id + " does not match its content");
  }
  return Status::OK();
}

}  // namespace audit_internal

using namespace audit_internal;

Result<AuditKey> GenerateAuditKey(Repo& repo, bool force) {
  AuditKey out;
  out.private_path = AuditKeyPath();
  std::error_code ec;
  if (!force && std::filesystem::exists(out.private_path, ec)) {
    return Status::AlreadyExists("an audit signing key already exists at " + out.private_path,
                                 "keep it, or replace it with 'cairn audit keygen --force' (entries it signed still "
                                 "verify against its public key)");
  }
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                             EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Status::IOError("cannot generate an Ed25519 key (OpenSSL)");
  }
  Pkey key(raw);
  out.key_id = KeyId(key.get());
  std::string priv = WritePem(key.get(), true), pub = WritePem(key.get(), false);
  if (priv.empty() || pub.empty() || out.key_id.empty()) return Status::IOError("cannot encode the new Ed25519 key");
  out.public_path = KeyPath(repo.layout(), out.key_id).string();
  CAIRN_RETURN_IF_ERROR(MakeDirs(KeysDirPath(repo.layout())));
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(out.public_path, pub, /*sync=*/true));
  CAIRN_RETURN_IF_ERROR(MakeDirs(std::filesystem::path(out.private_path).parent_path()));
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(out.private_path, priv, /*sync=*/true, 0600));
  return out;
}

}  // namespace cairn
