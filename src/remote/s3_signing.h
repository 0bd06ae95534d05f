// AWS Signature Version 4 for S3 requests. libcurl computes the signature
// (CURLOPT_AWS_SIGV4); this module gives it what it needs to get the same
// answer as S3:
// - libcurl 7.88 signs the request path and query exactly as written (it
//   neither sorts nor re-encodes them), so every URL must already be
//   canonical: keys percent-encoded per S3 rules (UriEncode), query
//   parameters sorted and written "name=value" (CanonicalQuery);
// - it signs host, content-type and the x-amz-* headers; the payload hash
//   always travels in x-amz-content-sha256, as S3 (and moto) reject a
//   signature without it; a session token in x-amz-security-token.
#ifndef CAIRN_REMOTE_S3_SIGNING_H_
#define CAIRN_REMOTE_S3_SIGNING_H_

#include <curl/curl.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn {

// Percent-encodes all but the unreserved characters (and '/' when
// `keep_slash`), upper-case hex: the form SigV4 signs.
std::string UriEncode(std::string_view s, bool keep_slash);

// A canonical query string: parameters sorted, each "name=value", both encoded.
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

// The credentials of one remote and the region they sign for. Immutable
// after construction; safe to use from many threads at once.
class S3Signer {
 public:
  S3Signer(std::string region, const std::string& access_key, const std::string& secret_key,
           std::string session_token);

  // Appends the signed x-amz-* headers for a request carrying `body` to
  // `headers` (a curl_slist; nullptr starts a new list) and returns the list.
  // The caller frees it after the request.
  curl_slist* AddHeaders(curl_slist* headers, std::string_view body) const;

  // Asks libcurl to sign the request on `curl` with these credentials. Call
  // for every request: curl_easy_reset forgets it. libcurl copies the strings.
  void Apply(CURL* curl) const;

 private:
  const std::string sigv4_;    // "aws:amz:REGION:s3" for CURLOPT_AWS_SIGV4
  const std::string userpwd_;  // "key:secret" for CURLOPT_USERPWD
  const std::string session_token_;
};

}  // namespace cairn

#endif  // CAIRN_REMOTE_S3_SIGNING_H_
