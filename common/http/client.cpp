#include "common/http/client.hpp"

#include <curl/curl.h>

#include <mutex>

#include "common/http/request.hpp"

namespace blobswarm::http {
namespace {

struct curl_global {
  curl_global() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~curl_global() { curl_global_cleanup(); }
};

void ensure_curl_global() {
  static curl_global g;
}

struct easy_deleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// State of one transfer, reached from curl's C callbacks.
struct transfer {
  client_response response;
  const client::header_callback* on_headers = nullptr;
  const client::data_callback* on_data = nullptr;
  std::uint64_t max_body = 0;
  bool headers_delivered = false;
  std::optional<error> failure;  // why a callback stopped the transfer
  const std::atomic<bool>* cancel = nullptr;

  bool deliver_headers() {
    if (headers_delivered) return true;
    headers_delivered = true;
    if (on_headers && *on_headers) {
      if (auto r = (*on_headers)(response); !r) {
        failure = r.error();
        return false;
      }
    }
    return true;
  }

  static std::size_t on_header_line(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<transfer*>(self);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
      // A new response begins (after a redirect or a 100 Continue).
      t->response.headers.clear();
      auto sp = line.find(' ');
      if (sp != std::string_view::npos) {
        t->response.status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
      }
      return size * n;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                       std::string(trim(line.substr(colon + 1))));
    }
    return size * n;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<transfer*>(self);
    std::size_t bytes = size * n;
    if (!t->deliver_headers()) return 0;
    if (t->on_data) {
      if (auto r = (*t->on_data)(std::as_bytes(std::span(data, bytes))); !r) {
        t->failure = r.error();
        return 0;
      }
      return bytes;
    }
    if (t->response.body.size() + bytes > t->max_body) {
      t->failure =
          error{errc::too_large, fmt::format("response body exceeds {} bytes", t->max_body)};
      return 0;
    }
    t->response.body.append(data, bytes);
    return bytes;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<transfer*>(self);
    if (t->cancel && t->cancel->load(std::memory_order_relaxed)) {
      t->failure = error{errc::unavailable, "request cancelled"};
      return 1;
    }
    return 0;
  }
};

error curl_failure(CURLcode code, const char* detail, const std::string& method,
                   const std::string& url) {
  std::string what = detail && *detail ? detail : curl_easy_strerror(code);
  errc e = errc::unavailable;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      e = errc::timeout;
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      e = errc::invalid_argument;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_TOO_MANY_REDIRECTS:
      e = errc::upstream;
      break;
    default:
      break;
  }
  return error{e, fmt::format("{} {}: {}", method, url, what)};
}

}  // namespace

struct client::shared {
  CURLSH* handle = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];

  shared() {
    handle = curl_share_init();
    curl_share_setopt(handle, CURLSHOPT_LOCKFUNC, lock_share);
    curl_share_setopt(handle, CURLSHOPT_UNLOCKFUNC, unlock_share);
    curl_share_setopt(handle, CURLSHOPT_USERDATA, this);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~shared() { curl_share_cleanup(handle); }

  static void lock_share(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<shared*>(user)->locks[data].lock();
  }
  static void unlock_share(CURL*, curl_lock_data data, void* user) {
    static_cast<shared*>(user)->locks[data].unlock();
  }
};

std::optional<std::string_view> client_response::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string_view> client_response::header_values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) out.push_back(v);
  }
  return out;
}

client::client(client_options options) : options_(std::move(options)) {
  ensure_curl_global();
  shared_ = std::make_unique<shared>();
}

client::~client() = default;

result<client_response> client::send(const client_request& request) const {
  return stream(request, nullptr, nullptr);
}

result<client_response> client::stream(const client_request& request,
                                       const header_callback& on_headers,
                                       const data_callback& on_data) const {
  std::unique_ptr<CURL, easy_deleter> easy(curl_easy_init());
  if (!easy) return fail(errc::internal, "curl_easy_init failed");
  CURL* h = easy.get();
  transfer t;
  t.on_headers = &on_headers;
  t.on_data = on_data ? &on_data : nullptr;
  t.max_body = options_.max_body;
  t.cancel = request.cancel;
  char error_buffer[CURL_ERROR_SIZE] = {};

  std::unique_ptr<curl_slist, slist_deleter> headers;
  auto add_header = [&](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  for (const auto& [k, v] : request.headers) add_header(k + ": " + v);
  add_header("Expect:");  // no 100-continue round trip for uploads

  curl_easy_setopt(h, CURLOPT_SHARE, shared_->handle);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, options_.max_redirects);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  auto timeout = request.timeout.value_or(options_.timeout);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(
      h, CURLOPT_LOW_SPEED_TIME,
      static_cast<long>(std::max<std::int64_t>(
          1, std::chrono::duration_cast<std::chrono::seconds>(options_.stall_timeout).count())));
  bool insecure = request.insecure.value_or(options_.insecure);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &transfer::on_header_line);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &transfer::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &transfer::on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, request.cancel ? 0L : 1L);
  if (request.max_recv_speed > 0) {
    curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE,
                     static_cast<curl_off_t>(request.max_recv_speed));
  }

  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }

  CURLcode rc = curl_easy_perform(h);
  if (t.failure) return fail(*t.failure);
  if (rc != CURLE_OK) return fail(curl_failure(rc, error_buffer, request.method, request.url));
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = static_cast<int>(status);
  char* effective = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) t.response.effective_url = effective;
  if (!t.deliver_headers()) return fail(*t.failure);
  return std::move(t.response);
}

}  // namespace blobswarm::http
