#include "layers/attr_reader.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "footprint/error.hpp"

namespace footprint {
namespace {

bool parse_long(const std::string& text, long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtol(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

}  // namespace

void AttrReader::fail(const std::string& key, const std::string& rule) const {
  auto it = spec_.attrs.find(key);
  std::string value = it != spec_.attrs.end() ? it->second : spec_.arg;
  throw ParseError(spec_.op + ": " + key + "=" + value + ": " + rule);
}

int AttrReader::arg_int(const char* what, int min_value) const {
  long value = 0;
  if (spec_.arg.empty()) {
    throw ParseError(spec_.op + ": missing " + what + " (e.g. '" + spec_.op + " 16')");
  }
  if (!parse_long(spec_.arg, value) || value < min_value || value > (1L << 30)) {
    throw ParseError(spec_.op + ": " + what + " '" + spec_.arg + "': expected an integer >= " +
                     std::to_string(min_value));
  }
  return static_cast<int>(value);
}

const std::string& AttrReader::arg_name(const char* what) const {
  if (spec_.arg.empty()) {
    throw ParseError(spec_.op + ": missing " + what + " (the name= of an earlier layer)");
  }
  return spec_.arg;
}

void AttrReader::no_arg() const {
  if (!spec_.arg.empty()) {
    throw ParseError(spec_.op + ": unexpected argument '" + spec_.arg + "'; options are key=value");
  }
}

int AttrReader::get_int(const std::string& key, int fallback, int min_value, const char* rule) {
  read_.insert(key);
  auto it = spec_.attrs.find(key);
  if (it == spec_.attrs.end()) return fallback;
  long value = 0;
  if (!parse_long(it->second, value)) fail(key, "expected an integer");
  if (value < min_value || value > (1L << 30)) fail(key, rule);
  return static_cast<int>(value);
}

float AttrReader::get_float(const std::string& key, float fallback) {
  read_.insert(key);
  auto it = spec_.attrs.find(key);
  if (it == spec_.attrs.end()) return fallback;
  char* end = nullptr;
  float value = std::strtof(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || !std::isfinite(value)) fail(key, "expected a number");
  return value;
}

bool AttrReader::get_bool(const std::string& key, bool fallback) {
  read_.insert(key);
  auto it = spec_.attrs.find(key);
  if (it == spec_.attrs.end()) return fallback;
  if (it->second == "true" || it->second == "1") return true;
  if (it->second == "false" || it->second == "0") return false;
  fail(key, "expected true or false");
}

std::string AttrReader::get_choice(const std::string& key, const std::string& fallback,
                                   std::initializer_list<const char*> choices) {
  read_.insert(key);
  auto it = spec_.attrs.find(key);
  if (it == spec_.attrs.end()) return fallback;
  std::string expected;
  for (const char* choice : choices) {
    if (it->second == choice) return it->second;
    expected += (expected.empty() ? "" : ", ") + std::string(choice);
  }
  fail(key, "expected one of: " + expected);
}

void AttrReader::finish() const {
  for (const auto& [key, value] : spec_.attrs) {
    if (read_.count(key) == 0) {
      std::string known;
      for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
      throw ParseError(spec_.op + ": unknown option '" + key + "'" +
                       (known.empty() ? "; it takes no options" : "; expected one of: " + known));
    }
  }
}

}  // namespace footprint
