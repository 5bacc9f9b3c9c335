// config: a component's settings come from, in increasing precedence, the
// struct's member defaults, a JSON file (--config FILE) and command-line
// flags. A settings struct describes its fields once:
//
//   struct settings {
//     std::string listen = "127.0.0.1:6969";
//     duration peer_ttl = std::chrono::minutes(30);
//     std::vector<zone_rule> zones;           // JSON only: not a scalar
//     template <class V> void visit(V& v) {
//       v("listen", listen, "address:port to serve on");
//       v("peer_ttl", peer_ttl, "forget peers silent for this long");
//       v("zones", zones, "CIDR to zone rules");
//     }
//     result<void> validate() const;          // optional
//   };
//
// Scalars (strings, bools, numbers, byte_size, duration, lists of strings)
// become flags (`peer_ttl` -> `--peer-ttl`) and JSON keys (`peer_ttl`).
// Nested structs with a visit(), and vectors and string-keyed maps of them,
// are JSON-only. JSON with an unknown key or a value of the wrong type is
// rejected with a message naming the key.
#pragma once

#include <CLI/CLI.hpp>
#include <concepts>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/logging.hpp"
#include "common/units.hpp"

namespace blobswarm::config {

struct app_info {
  std::string name;         // "blobswarm-tracker"
  std::string description;  // one line for --help
  std::string footer;       // optional text after the options in --help
};

// Why load() did not produce settings: --help/--version (code 0, text for
// stdout) or a usage/config error (code 2, text for stderr).
struct exit_status {
  int code = 0;
  std::string message;
};

// A list of strings that also takes a single string in the file (a list of
// one), for settings that grew from one value to several (the mirror's
// `seeder`). As a flag, comma-separated like every list.
struct string_list : std::vector<std::string> {
  using std::vector<std::string>::vector;
  string_list() = default;
  string_list(std::vector<std::string> v) : std::vector<std::string>(std::move(v)) {}
};

namespace detail {

struct null_visitor {
  template <class T>
  void operator()(std::string_view, T&, std::string_view) {}
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {
  using value_type = T;
};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {
  using value_type = T;
};

}  // namespace detail

template <class T>
concept visitable = requires(T& t, detail::null_visitor& v) {
  t.visit(v);
};

template <class T>
concept cli_scalar = std::same_as<T, std::string> || std::same_as<T, bool> || std::integral<T> ||
    std::floating_point<T> || std::same_as<T, byte_size> || std::same_as<T, duration> ||
    std::same_as<T, std::vector<std::string>> || std::same_as<T, string_list>;

// "peer_ttl" -> "--peer-ttl"
std::string flag_name(std::string_view key);

// Reads one JSON value into a field; `path` names the key in messages.
result<void> read_value(const nlohmann::json& j, std::string& out, const std::string& path);
result<void> read_value(const nlohmann::json& j, bool& out, const std::string& path);
result<void> read_value(const nlohmann::json& j, double& out, const std::string& path);
result<void> read_value(const nlohmann::json& j, byte_size& out, const std::string& path);
result<void> read_value(const nlohmann::json& j, duration& out, const std::string& path);
result<void> read_value(const nlohmann::json& j, std::vector<std::string>& out,
                        const std::string& path);
result<void> read_value(const nlohmann::json& j, string_list& out, const std::string& path);
// A string, boolean or integer kept as JSON (for maps of settings whose
// types the consumer knows, such as lt_settings).
result<void> read_value(const nlohmann::json& j, nlohmann::json& out, const std::string& path);
result<void> read_integer(const nlohmann::json& j, long double min, long double max,
                          long double& out, const std::string& path);

template <std::integral T>
requires(!std::same_as<T, bool>) result<void> read_value(const nlohmann::json& j, T& out,
                                                         const std::string& path) {
  long double v = 0;
  if (auto r = read_integer(j, static_cast<long double>(std::numeric_limits<T>::min()),
                            static_cast<long double>(std::numeric_limits<T>::max()), v, path);
      !r) {
    return r;
  }
  out = static_cast<T>(v);
  return {};
}

template <visitable T>
result<void> read_value(const nlohmann::json& j, T& out, const std::string& path);

template <class T>
requires(detail::is_vector<T>::value && !std::same_as<T, std::vector<std::string>>)
    result<void> read_value(const nlohmann::json& j, T& out, const std::string& path) {
  if (!j.is_array()) return fail(errc::invalid_argument, "config key '{}' must be a list", path);
  T values;
  for (std::size_t i = 0; i < j.size(); ++i) {
    typename T::value_type v{};
    if (auto r = read_value(j[i], v, fmt::format("{}[{}]", path, i)); !r) return r;
    values.push_back(std::move(v));
  }
  out = std::move(values);
  return {};
}

template <class T>
requires detail::is_string_map<T>::value result<void> read_value(const nlohmann::json& j, T& out,
                                                                 const std::string& path) {
  if (!j.is_object())
    return fail(errc::invalid_argument, "config key '{}' must be an object", path);
  T values;
  for (const auto& [k, item] : j.items()) {
    typename T::mapped_type v{};
    if (auto r = read_value(item, v, fmt::format("{}.{}", path, k)); !r) return r;
    values.emplace(k, std::move(v));
  }
  out = std::move(values);
  return {};
}

// Visitor that fills fields from a JSON object and remembers which keys it
// consumed, so that finish() can reject the rest.
class json_reader {
 public:
  json_reader(const nlohmann::json& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  template <class T>
  void operator()(std::string_view key, T& field, std::string_view /*help*/) {
    known_.emplace(key);
    if (error_) return;
    auto it = object_.find(std::string(key));
    if (it == object_.end()) return;
    if (auto r = read_value(*it, field, prefix_ + std::string(key)); !r) error_ = r.error();
  }

  result<void> finish() const;

 private:
  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string, std::less<>> known_;
  std::optional<error> error_;
};

template <visitable T>
result<void> read_value(const nlohmann::json& j, T& out, const std::string& path) {
  if (!j.is_object())
    return fail(errc::invalid_argument, "config key '{}' must be an object", path);
  json_reader reader(j, path + ".");
  out.visit(reader);
  return reader.finish();
}

// Visitor that registers a CLI11 option per scalar field, showing the
// field's current value as the default in --help.
class cli_binder {
 public:
  explicit cli_binder(CLI::App& app) : app_(app) {}

  template <class T>
  void operator()(std::string_view key, T& field, std::string_view help) {
    if constexpr (cli_scalar<T>) {
      bind(flag_name(key), field, std::string(help));
    } else {
      json_only_.push_back(fmt::format("  {:<22} {}", key, help));
    }
  }

  // Lines describing the JSON-only keys, for the --help footer.
  const std::vector<std::string>& json_only() const { return json_only_; }

 private:
  void bind(const std::string& flag, std::string& field, const std::string& help);
  void bind(const std::string& flag, bool& field, const std::string& help);
  void bind(const std::string& flag, byte_size& field, const std::string& help);
  void bind(const std::string& flag, duration& field, const std::string& help);
  void bind(const std::string& flag, std::vector<std::string>& field, const std::string& help);
  void bind(const std::string& flag, string_list& field, const std::string& help) {
    bind(flag, static_cast<std::vector<std::string>&>(field), help);
  }
  template <class N>
  void bind(const std::string& flag, N& field, const std::string& help) {
    app_.add_option(flag, field, help)->capture_default_str();
  }

  CLI::App& app_;
  std::vector<std::string> json_only_;
};

namespace detail {
void prepare_app(CLI::App& app, const app_info& info, std::string& config_path);
void finish_app(CLI::App& app, const app_info& info, const std::vector<std::string>& json_only);
// Runs CLI11; a ParseError (including --help) becomes an exit_status.
std::optional<exit_status> parse_args(CLI::App& app, int argc, const char* const* argv);
result<nlohmann::json> load_json_file(const std::string& path);
// The text of a config file as a JSON object; `path` names it in messages.
result<nlohmann::json> parse_json_text(std::string_view text, const std::string& path);
}  // namespace detail

// Reads a config file's JSON object into `settings` strictly (what
// --config does before the flags are applied); no validate().
template <class Settings>
result<void> read_json(const nlohmann::json& object, Settings& settings) {
  json_reader reader(object, "");
  settings.visit(reader);
  return reader.finish();
}

template <class Settings>
expected<Settings, exit_status> load(const app_info& info, int argc, const char* const* argv) {
  std::string config_path;
  {
    // First pass, on throwaway settings: --help, --version, usage errors,
    // and where the configuration file is.
    Settings scratch;
    CLI::App app;
    detail::prepare_app(app, info, config_path);
    cli_binder binder(app);
    scratch.visit(binder);
    detail::finish_app(app, info, binder.json_only());
    if (auto stop = detail::parse_args(app, argc, argv)) return unexpected(*stop);
  }
  Settings settings;
  if (!config_path.empty()) {
    auto json = detail::load_json_file(config_path);
    if (!json) return unexpected(exit_status{2, json.error().message});
    if (auto r = read_json(*json, settings); !r) {
      return unexpected(exit_status{2, fmt::format("{}: {}", config_path, r.error().message)});
    }
  }
  {
    // Second pass: flags given on the command line override the file.
    std::string ignored;
    CLI::App app;
    detail::prepare_app(app, info, ignored);
    cli_binder binder(app);
    settings.visit(binder);
    if (auto stop = detail::parse_args(app, argc, argv)) return unexpected(*stop);
  }
  if constexpr (requires { settings.validate(); }) {
    if (auto v = settings.validate(); !v) {
      return unexpected(exit_status{2, fmt::format("{}: {}", info.name, v.error().message)});
    }
  }
  return settings;
}

// The body of every binary's main(): load settings (printing help, version
// or errors), set up logging from `settings.log`, then run `body`.
int run_main(const app_info& info, int argc, const char* const* argv,
             const std::function<expected<logging::settings, exit_status>(int, const char* const*)>&
                 load_settings,
             const std::function<int()>& body);

template <class Settings, class Body>
int run(const app_info& info, int argc, const char* const* argv, Body&& body) {
  Settings settings;
  return run_main(
      info, argc, argv,
      [&](int c, const char* const* v) -> expected<logging::settings, exit_status> {
        auto loaded = load<Settings>(info, c, v);
        if (!loaded) return unexpected(loaded.error());
        settings = std::move(*loaded);
        return settings.log;
      },
      [&] { return body(settings); });
}

}  // namespace blobswarm::config
