// Fuzzes the strict JSON config loader (common/config) over the settings of
// the three services, as `--config FILE` reads them: the text is parsed,
// read into the settings struct and validated. The first byte picks the
// service. Beyond "no crash": a file that loads has only keys the settings
// know (strictness), and reading it twice gives the same outcome.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "mirror/settings.hpp"
#include "seeder/settings.hpp"
#include "tracker/settings.hpp"

using namespace blobswarm;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

namespace {

// Collects the top-level keys a settings struct declares.
struct key_collector {
  std::set<std::string, std::less<>> keys;
  template <class T>
  void operator()(std::string_view key, T&, std::string_view) {
    keys.emplace(key);
  }
};

template <class Settings>
void load(const nlohmann::json& object) {
  Settings s;
  auto r = config::read_json(object, s);
  Settings again;
  CHECK(config::read_json(object, again).has_value() == r.has_value());
  if (!r) {
    CHECK(!r.error().message.empty());
    return;
  }
  key_collector known;
  Settings probe;
  probe.visit(known);
  for (const auto& [key, value] : object.items()) CHECK(known.keys.contains(key));
  if (auto v = s.validate(); !v) CHECK(!v.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto object = config::detail::parse_json_text(text, "fuzz.json");
  if (!object) {
    CHECK(!object.error().message.empty());
    return 0;
  }
  CHECK(object->is_object());
  switch (data[0] % 3) {
    case 0:
      load<tracker::settings>(*object);
      break;
    case 1:
      load<seeder::settings>(*object);
      break;
    case 2:
      load<mirror::settings>(*object);
      break;
  }
  return 0;
}
