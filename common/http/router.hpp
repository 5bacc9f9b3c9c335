// router: maps method + path pattern to a handler. Patterns are literal
// segments and captures: "/announce/{passkey}", "/api/v1/torrents/{id}/file",
// "/v2/{rest*}" (a trailing capture that takes the remaining path, slashes
// included). Routes are tried in the order they were added. HEAD falls back
// to the GET route (the server sends the headers only). A path that matches
// no route gets the not-found handler; a path that matches with another
// method gets 405 with an Allow header.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/http/asio.hpp"
#include "common/http/request.hpp"
#include "common/http/response.hpp"

namespace blobswarm::http {

using sync_handler = std::function<response(request&)>;
using async_handler = std::function<awaitable<response>(request&)>;
using handler = std::variant<sync_handler, async_handler>;

class router {
 public:
  router& add(verb method, std::string_view pattern, handler h);
  router& get(std::string_view pattern, handler h) { return add(verb::get, pattern, std::move(h)); }
  router& head(std::string_view pattern, handler h) {
    return add(verb::head, pattern, std::move(h));
  }
  router& post(std::string_view pattern, handler h) {
    return add(verb::post, pattern, std::move(h));
  }
  router& put(std::string_view pattern, handler h) { return add(verb::put, pattern, std::move(h)); }
  router& del(std::string_view pattern, handler h) {
    return add(verb::delete_, pattern, std::move(h));
  }
  // Handles every method on a pattern (for protocol front-ends that answer
  // unsupported methods themselves, like the registry API).
  router& any(std::string_view pattern, handler h);

  // Replaces the default plain-text 404.
  router& not_found(handler h);
  // Replaces the default plain-text 405; the request carries the allowed
  // methods as the "allow" parameter.
  router& method_not_allowed(handler h);

  struct match_result {
    const handler* h = nullptr;  // never null
    std::string allow;           // for 405: "GET, HEAD"
  };
  // Finds the handler for `req` and stores path captures in it, falling
  // back to the not-found or method-not-allowed handler. For 405 the
  // request's "allow" parameter views `allow` of the result, so the result
  // must outlive the handler call. The server sets that parameter.
  match_result find(request& req) const;

 private:
  struct segment {
    std::string text;
    bool capture = false;
    bool rest = false;
  };
  struct route {
    std::optional<verb> method;  // nullopt: any
    std::vector<segment> pattern;
    handler h;
  };
  static bool match(const std::vector<segment>& pattern, std::string_view path,
                    std::vector<header_view>& captures);

  std::vector<route> routes_;
  handler not_found_ = sync_handler([](request&) { return response::text(404, "not found\n"); });
  handler method_not_allowed_ =
      sync_handler([](request&) { return response::text(405, "method not allowed\n"); });
};

}  // namespace blobswarm::http
