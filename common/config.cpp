#include "common/config.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>

namespace blobswarm::config {

std::string flag_name(std::string_view key) {
  std::string flag = "--";
  for (char c : key) flag.push_back(c == '_' ? '-' : c);
  return flag;
}

namespace {
std::string type_name(const nlohmann::json& j) {
  return j.type_name();
}
}  // namespace

result<void> read_value(const nlohmann::json& j, std::string& out, const std::string& path) {
  if (!j.is_string()) {
    return fail(errc::invalid_argument, "config key '{}' must be a string, not {}", path,
                type_name(j));
  }
  out = j.get<std::string>();
  return {};
}

result<void> read_value(const nlohmann::json& j, nlohmann::json& out, const std::string& path) {
  if (!j.is_string() && !j.is_boolean() && !j.is_number_integer()) {
    return fail(errc::invalid_argument,
                "config key '{}' must be a string, true or false, or an integer, not {}", path,
                type_name(j));
  }
  out = j;
  return {};
}

result<void> read_value(const nlohmann::json& j, bool& out, const std::string& path) {
  if (!j.is_boolean()) {
    return fail(errc::invalid_argument, "config key '{}' must be true or false, not {}", path,
                type_name(j));
  }
  out = j.get<bool>();
  return {};
}

result<void> read_value(const nlohmann::json& j, double& out, const std::string& path) {
  if (!j.is_number()) {
    return fail(errc::invalid_argument, "config key '{}' must be a number, not {}", path,
                type_name(j));
  }
  out = j.get<double>();
  return {};
}

result<void> read_integer(const nlohmann::json& j, long double min, long double max,
                          long double& out, const std::string& path) {
  if (!j.is_number_integer()) {
    return fail(errc::invalid_argument, "config key '{}' must be an integer, not {}", path,
                type_name(j));
  }
  long double v = j.is_number_unsigned() ? static_cast<long double>(j.get<std::uint64_t>())
                                         : static_cast<long double>(j.get<std::int64_t>());
  if (v < min || v > max) {
    return fail(errc::invalid_argument, "config key '{}' is out of range ({} to {})", path,
                static_cast<double>(min), static_cast<double>(max));
  }
  out = v;
  return {};
}

result<void> read_value(const nlohmann::json& j, byte_size& out, const std::string& path) {
  if (j.is_number_unsigned()) {
    out = byte_size{j.get<std::uint64_t>()};
    return {};
  }
  if (!j.is_string()) {
    return fail(errc::invalid_argument,
                "config key '{}' must be a size like \"10GiB\" or a number of bytes, not {}", path,
                type_name(j));
  }
  auto v = byte_size::parse(j.get<std::string>());
  if (!v) return fail(errc::invalid_argument, "config key '{}': {}", path, v.error().message);
  out = *v;
  return {};
}

result<void> read_value(const nlohmann::json& j, duration& out, const std::string& path) {
  if (j.is_number_unsigned()) {
    out = std::chrono::seconds(j.get<std::uint64_t>());
    return {};
  }
  if (!j.is_string()) {
    return fail(errc::invalid_argument,
                "config key '{}' must be a duration like \"30s\" or a number of seconds, not {}",
                path, type_name(j));
  }
  auto v = parse_duration(j.get<std::string>());
  if (!v) return fail(errc::invalid_argument, "config key '{}': {}", path, v.error().message);
  out = *v;
  return {};
}

result<void> read_value(const nlohmann::json& j, std::vector<std::string>& out,
                        const std::string& path) {
  if (!j.is_array()) {
    return fail(errc::invalid_argument, "config key '{}' must be a list of strings", path);
  }
  std::vector<std::string> values;
  for (const auto& item : j) {
    if (!item.is_string()) {
      return fail(errc::invalid_argument, "config key '{}' must be a list of strings", path);
    }
    values.push_back(item.get<std::string>());
  }
  out = std::move(values);
  return {};
}

result<void> read_value(const nlohmann::json& j, string_list& out, const std::string& path) {
  if (j.is_string()) {
    out = string_list{j.get<std::string>()};
    return {};
  }
  if (!j.is_array()) {
    return fail(errc::invalid_argument, "config key '{}' must be a string or a list of strings",
                path);
  }
  return read_value(j, static_cast<std::vector<std::string>&>(out), path);
}

result<void> json_reader::finish() const {
  if (error_) return fail(*error_);
  for (const auto& [key, value] : object_.items()) {
    if (known_.contains(key)) continue;
    std::string hint;
    std::string snake = key;
    std::replace(snake.begin(), snake.end(), '-', '_');
    if (snake != key && known_.contains(snake)) hint = fmt::format(" (did you mean '{}'?)", snake);
    return fail(errc::invalid_argument, "unknown config key '{}{}'{}", prefix_, key, hint);
  }
  return {};
}

void cli_binder::bind(const std::string& flag, std::string& field, const std::string& help) {
  app_.add_option(flag, field, help)->capture_default_str();
}

void cli_binder::bind(const std::string& flag, bool& field, const std::string& help) {
  auto name = flag.substr(2);
  app_.add_flag(flag + ",!--no-" + name, field,
                fmt::format("{} (default: {})", help, field ? "on" : "off"));
}

void cli_binder::bind(const std::string& flag, byte_size& field, const std::string& help) {
  app_.add_option_function<std::string>(
          flag,
          [&field, flag](const std::string& text) {
            auto v = byte_size::parse(text);
            if (!v) throw CLI::ValidationError(flag, v.error().message);
            field = *v;
          },
          help)
      ->default_str(field.str())
      ->type_name("SIZE");
}

void cli_binder::bind(const std::string& flag, duration& field, const std::string& help) {
  app_.add_option_function<std::string>(
          flag,
          [&field, flag](const std::string& text) {
            auto v = parse_duration(text);
            if (!v) throw CLI::ValidationError(flag, v.error().message);
            field = *v;
          },
          help)
      ->default_str(format_duration(field))
      ->type_name("DURATION");
}

void cli_binder::bind(const std::string& flag, std::vector<std::string>& field,
                      const std::string& help) {
  std::string shown;
  for (const auto& v : field) shown += (shown.empty() ? "" : ",") + v;
  app_.add_option(flag, field, help)->default_str(shown)->delimiter(',');
}

namespace detail {

void prepare_app(CLI::App& app, const app_info& info, std::string& config_path) {
  app.name(info.name);
  app.description(info.description);
  app.set_version_flag("--version", fmt::format("{} {}", info.name, BLOBSWARM_VERSION));
  app.add_option("--config", config_path,
                 "JSON configuration file; flags on the command line override it")
      ->type_name("FILE");
  app.get_formatter()->column_width(34);
}

void finish_app(CLI::App& app, const app_info& info, const std::vector<std::string>& json_only) {
  std::string footer;
  if (!json_only.empty()) {
    footer += "Configuration-file keys (JSON, see docs/CONFIGURATION.md):\n";
    for (const auto& line : json_only) footer += line + "\n";
    footer += "Every flag above is also a configuration key: --peer-ttl is \"peer_ttl\".\n";
  }
  if (!info.footer.empty()) footer += (footer.empty() ? "" : "\n") + info.footer;
  app.footer(footer);
}

std::optional<exit_status> parse_args(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    return exit_status{code == 0 ? 0 : 2, code == 0 ? out.str() : err.str()};
  }
  return std::nullopt;
}

result<nlohmann::json> load_json_file(const std::string& path) {
  auto text = read_file(path, 4ULL << 20);
  if (!text) return fail(errc::invalid_argument, "config: {}", text.error().message);
  return parse_json_text(*text, path);
}

result<nlohmann::json> parse_json_text(std::string_view text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers no double can hold (1e400):
    // found by fuzz/config_files, which crashed here.
    return fail(errc::invalid_argument, "config {} is not valid JSON: {}", path, e.what());
  }
  if (!j.is_object()) {
    return fail(errc::invalid_argument, "config {} must hold a JSON object", path);
  }
  return j;
}

}  // namespace detail

int run_main(const app_info& info, int argc, const char* const* argv,
             const std::function<expected<logging::settings, exit_status>(int, const char* const*)>&
                 load_settings,
             const std::function<int()>& body) {
  auto log = load_settings(argc, argv);
  if (!log) {
    (log.error().code == 0 ? std::cout : std::cerr) << log.error().message;
    if (!log.error().message.ends_with('\n'))
      (log.error().code == 0 ? std::cout : std::cerr) << '\n';
    return log.error().code;
  }
  if (auto l = logging::init(*log); !l) {
    std::cerr << info.name << ": " << l.error().message << '\n';
    return 2;
  }
  try {
    return body();
  } catch (const std::exception& e) {
    logging::get("main")->critical("{} stopped: {}", info.name, e.what());
    return 1;
  }
}

}  // namespace blobswarm::config
