// Errors for bad input from users (files, flags, shapes, memory limits). Bugs are not input
// errors: those abort through FP_CHECK (src/core/check.hpp).
#pragma once

#include <stdexcept>
#include <string>

namespace footprint {

// Base of every error the library throws for bad input; what() is a complete, user-facing line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A .net file, a model file header or a key=value option that does not parse.
class ParseError : public Error {
 public:
  using Error::Error;
};

// Shapes that do not fit together: names both layers and both shapes.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Reading or writing a file failed, or its contents are truncated or corrupt.
class IoError : public Error {
 public:
  using Error::Error;
};

// A plan cannot be made or does not fit the limits it was given.
class PlanError : public Error {
 public:
  using Error::Error;
};

}  // namespace footprint
