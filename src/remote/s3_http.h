// The HTTP layer under the S3 backend: requests to one bucket sent with
// libcurl, signed by an S3Signer, and retried with backoff when the failure
// is transient (throttling, 5xx, a dropped connection).
//
// Thread safety: an S3HttpClient may send from many threads at once. Each
// thread owns one CURL easy handle, reused across requests for keep-alive.
#ifndef CAIRN_REMOTE_S3_HTTP_H_
#define CAIRN_REMOTE_S3_HTTP_H_

#include <curl/curl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"
#include "cairn/sys/backend.h"
#include "remote/s3_signing.h"

namespace cairn {

// Once per process, before any request: neither libcurl nor libxml2 may
// initialize itself concurrently. Idempotent and thread-safe.
void S3GlobalInit();

// `s` without leading and trailing blanks (space, tab, CR, LF).
std::string TrimBlanks(std::string s);

// One S3 request. `object_key` is the full key in the bucket ("" for the
// bucket itself); `query` a canonical query string (see CanonicalQuery).
struct S3Request {
  const char* method;
  std::string object_key;
  std::string query;
  std::string_view body;  // not owned: must outlive the request
  std::string what;       // for messages: "GET packs/x.pack"
  std::vector<std::string> headers;
};

struct S3Response {
  long status = 0;  // HTTP status; 0 when the transport failed
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
  CURLcode curl = CURLE_OK;
  std::string curl_error;
};

// Where the bucket is and how to reach it.
struct S3Endpoint {
  std::string describe;  // "s3://bucket/prefix", the start of every message
  std::string endpoint;  // "https://s3.us-east-1.amazonaws.com", no trailing '/'
  std::string bucket;
  bool path_style = true;  // endpoint/bucket/key, else scheme://bucket.host/key
  std::string ca_bundle;   // AWS_CA_BUNDLE: a CA file for TLS, or "" for the system's
};

class S3HttpClient {
 public:
  // `stats` (not owned) counts requests, bytes and retries; it must outlive
  // the client.
  S3HttpClient(S3Endpoint endpoint, S3Signer signer, BackendStats* stats);

  // Sends `req`, retrying transient failures up to kMaxAttempts times. The
  // response carries whatever HTTP status came back last (the caller decides
  // what a status means); IOError, with a hint, only when the server was
  // never reached or the connection kept failing.
  Result<S3Response> Perform(const S3Request& req);

  static constexpr int kMaxAttempts = 5;  // backoff 100, 200, 400, 800 ms (with jitter) between

 private:
  std::string Url(const S3Request& req) const;
  // One attempt, without retries; fills `resp`.
  void Attempt(const S3Request& req, S3Response* resp);

  const S3Endpoint endpoint_;
  const S3Signer signer_;
  BackendStats* const stats_;
  std::string base_url_;  // endpoint/bucket or scheme://bucket.host
};

}  // namespace cairn

#endif  // CAIRN_REMOTE_S3_HTTP_H_
