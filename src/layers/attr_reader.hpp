// Reads a layer's positional argument and key=value options with validation; every error names
// the op, the key and the value ("conv: k=0: kernel size must be at least 1").
#pragma once

#include <initializer_list>
#include <set>
#include <string>

#include "footprint/net.hpp"

namespace footprint {

class AttrReader {
 public:
  explicit AttrReader(const LayerSpec& spec) : spec_(spec) {}

  [[nodiscard]] int arg_int(const char* what, int min_value) const;
  [[nodiscard]] const std::string& arg_name(const char* what) const;
  void no_arg() const;
  [[nodiscard]] int get_int(const std::string& key, int fallback, int min_value, const char* rule);
  [[nodiscard]] float get_float(const std::string& key, float fallback);
  [[nodiscard]] bool get_bool(const std::string& key, bool fallback);
  // One of a few words ("mode=reflect"); fallback when the key is absent.
  [[nodiscard]] std::string get_choice(const std::string& key, const std::string& fallback,
                                       std::initializer_list<const char*> choices);
  // Whether the line gives this key (for options that exclude each other).
  [[nodiscard]] bool has(const std::string& key) const { return spec_.attrs.count(key) != 0; }
  // Throws for any key not read above (catches typos such as "strde=2").
  void finish() const;
  [[noreturn]] void fail(const std::string& key, const std::string& rule) const;

 private:
  const LayerSpec& spec_;
  std::set<std::string> read_;
};

}  // namespace footprint
