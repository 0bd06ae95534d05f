// S3 requests over libcurl: the per-thread handle, one signed attempt, and
// the retry policy (which failures are transient, backoff with jitter).
#include "remote/s3_http.h"

#include <libxml/parser.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "remote/s3_xml.h"

namespace cairn {
namespace {

// The calling thread's handle, in its reset state (Attempt resets it after
// use). It lives until the thread exits, keeping its connections open.
CURL* ThreadHandle() {
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
  };
  thread_local Handle handle;
  return handle.curl;
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<S3Response*>(user);
  if (resp->body.empty()) resp->body.reserve(std::min<uint64_t>(resp->content_length, 1ull << 30));
  resp->body.append(data, size * n);
  return size * n;
}

size_t HeaderLine(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<S3Response*>(user);
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (e.g. after "100 Continue")
    resp->etag.clear();
    resp->content_length = 0;
  }
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  std::string value = TrimBlanks(line.substr(colon + 1));
  if (name == "etag") resp->etag = value;
  if (name == "content-length") resp->content_length = strtoull(value.c_str(), nullptr, 10);
  return size * n;
}

// ---------------------------------------------------------------------------
// Retry policy: a failure is worth repeating when the network dropped or the
// server said it is busy or broken for the moment; anything else (4xx,
// refused credentials) would fail the same way again.

bool TransientTransportError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool TransientHttpError(const S3Response& r) {
  if (r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504) {
    return true;
  }
  if (r.status < 400) return false;
  std::string code = ParseS3Error(r.body).code;
  return code == "SlowDown" || code == "RequestTimeout" || code == "InternalError";
}

bool Transient(const S3Response& r) {
  return r.curl != CURLE_OK ? TransientTransportError(r.curl) : TransientHttpError(r);
}

// Before attempt `attempt` + 1: 100 ms doubling each time, the upper half
// random so that threads throttled together do not come back together.
std::chrono::milliseconds Backoff(int attempt) {
  static thread_local std::mt19937 rng(std::random_device{}());
  int base_ms = 100 << (attempt - 1);
  return std::chrono::milliseconds(base_ms / 2 +
                                   std::uniform_int_distribution<int>(0, base_ms / 2)(rng));
}

}  // namespace

void S3GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
  });
}

std::string TrimBlanks(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

S3HttpClient::S3HttpClient(S3Endpoint endpoint, S3Signer signer, BackendStats* stats)
    : endpoint_(std::move(endpoint)), signer_(std::move(signer)), stats_(stats) {
  const std::string& url = endpoint_.endpoint;
  size_t scheme_end = url.find("://") + 3;
  base_url_ = endpoint_.path_style
                  ? url + "/" + endpoint_.bucket
                  : url.substr(0, scheme_end) + endpoint_.bucket + "." + url.substr(scheme_end);
}

// The bucket itself is "endpoint/bucket" (path-style) or "https://bucket.host/".
std::string S3HttpClient::Url(const S3Request& req) const {
  std::string url = base_url_;
  if (!endpoint_.path_style || !req.object_key.empty()) {
    url += "/" + UriEncode(req.object_key, true);
  }
  if (!req.query.empty()) url += "?" + req.query;
  return url;
}

Result<S3Response> S3HttpClient::Perform(const S3Request& req) {
  S3Response resp;
  for (int attempt = 1;; ++attempt) {
    resp = S3Response();
    Attempt(req, &resp);
    if (!Transient(resp) || attempt == kMaxAttempts) break;
    std::this_thread::sleep_for(Backoff(attempt));
    stats_->retries++;
  }
  if (resp.curl == CURLE_OK) return resp;
  bool unreachable = resp.curl == CURLE_COULDNT_CONNECT || resp.curl == CURLE_COULDNT_RESOLVE_HOST;
  return Status::IOError(endpoint_.describe + ": " + req.what +
                             " failed: " + (unreachable ? "cannot reach " : "lost connection to ") +
                             endpoint_.endpoint + " (" + resp.curl_error + ")",
                         "check --endpoint-url (or AWS_ENDPOINT_URL) and that the S3 server is "
                         "running and reachable");
}

void S3HttpClient::Attempt(const S3Request& req, S3Response* resp) {
  CURL* curl = ThreadHandle();
  char errbuf[CURL_ERROR_SIZE] = "";
  std::string url = Url(req);
  struct curl_slist* headers = signer_.AddHeaders(nullptr, req.body);
  for (const std::string& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  bool has_body = strcmp(req.method, "PUT") == 0 || strcmp(req.method, "POST") == 0;
  if (has_body) {  // else libcurl labels the body form data; the object keeps this type
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);  // keys are not file paths: keep "..", "."
  signer_.Apply(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for 30 s: give up
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, HeaderLine);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
  if (!endpoint_.ca_bundle.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint_.ca_bundle.c_str());  // copied by libcurl
  }
  if (strcmp(req.method, "HEAD") == 0) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    // The body as POSTFIELDS (not copied), not as an upload: libcurl 7.88
    // sends "Expect: 100-continue" with every upload, a round trip per PUT,
    // and suppressing it with an empty "Expect:" header breaks the signature
    // (libcurl signs that header). Here it is used only above 1 MiB.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method);
  } else if (strcmp(req.method, "GET") != 0) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method);
  }

  resp->curl = curl_easy_perform(curl);
  curl_off_t sent = 0;
  curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &sent);
  stats_->requests++;
  stats_->bytes_sent += static_cast<uint64_t>(sent);
  stats_->bytes_received += resp->body.size();
  if (resp->curl == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
  } else {
    resp->curl_error = errbuf[0] ? errbuf : curl_easy_strerror(resp->curl);
  }
  curl_easy_reset(curl);  // drops the pointers to this frame; keeps the open connections
  curl_slist_free_all(headers);
}

}  // namespace cairn
