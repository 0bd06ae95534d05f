// Streaming SHA-256 over OpenSSL's EVP interface (uses SHA-NI / AVX2 when the
// CPU has them). Not thread-safe; use one Sha256 per thread.
#ifndef CAIRN_UTIL_SHA256_H_
#define CAIRN_UTIL_SHA256_H_

#include <string_view>

#include "cairn/oid.h"

struct evp_md_ctx_st;

namespace cairn {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Returns the digest and resets the hasher for reuse.
  Oid Finish();

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace cairn

#endif  // CAIRN_UTIL_SHA256_H_
